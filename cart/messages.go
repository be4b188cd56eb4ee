package cart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/backoff"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// inlineSendTimeout bounds a send made while a client waits for its answer. Such sends are
// best effort (a loop repeats them), so a broker that is down must not hold the request.
const inlineSendTimeout = 2 * time.Second

// requestValidation asks catalog, while a client waits, whether an article of a cart is valid. A
// failed send is only logged: the cart change is stored, and the re-validation loop asks again.
func (s *Service) requestValidation(ctx context.Context, cartID, articleID string) {
	ctx, cancel := context.WithTimeout(ctx, inlineSendTimeout)
	defer cancel()
	if err := s.sendArticleValid(ctx, cartID, articleID); err != nil {
		s.log.WarnContext(ctx, "article-valid not sent", "cart", cartID, "article", articleID, "err", err)
	}
}

// sendArticleValid asks catalog whether an article of a cart is valid; the answer comes back on
// the `cart` queue (handleCartQueue).
func (s *Service) sendArticleValid(ctx context.Context, cartID, articleID string) error {
	return bus.Send(ctx, s.bus, contract.ExchangeCatalog, contract.QueueCatalog, contract.TypeArticleValid,
		contract.ArticleRequest{ReferenceID: cartID, ArticleID: articleID}, bus.ReplyTo(contract.ExchangeCart, contract.QueueCart))
}

// tryPlaceOrder sends place_order for a cart just checked out, while its client waits. A failed
// send is only logged: the closed state is the outbox, so if this send fails, or the process dies
// before it, ResendPlaceOrders sends it later.
func (s *Service) tryPlaceOrder(ctx context.Context, closed Cart) {
	sendCtx, cancel := context.WithTimeout(ctx, inlineSendTimeout)
	defer cancel()
	if err := s.sendPlaceOrder(sendCtx, closed); err != nil {
		s.log.WarnContext(ctx, "place_order not sent, will be re-sent", "cart", closed.ID, "err", err)
	}
}

// sendPlaceOrder hands the closed cart c to orders.
func (s *Service) sendPlaceOrder(ctx context.Context, c Cart) error {
	msg := contract.PlaceOrder{CartID: c.ID, UserID: c.UserID, Articles: make([]contract.OrderLine, len(c.Articles))}
	for i, l := range c.Articles {
		msg.Articles[i] = contract.OrderLine{ArticleID: l.ArticleID, Quantity: l.Quantity}
	}
	return bus.Send(ctx, s.bus, contract.ExchangeOrder, contract.QueueOrder, contract.TypePlaceOrder, msg)
}

// handleCartQueue consumes the `cart` queue: catalog's answers to article-valid.
func handleCartQueue(svc *Service) bus.Handler {
	return func(ctx context.Context, d bus.Delivery) error {
		if d.Type != contract.TypeArticleValid {
			return bus.Permanent(fmt.Errorf("unexpected message type %q on the cart queue", d.Type))
		}
		var reply contract.ArticleValid
		if err := d.Decode(&reply); err != nil {
			return err
		}
		return svc.recordValidation(ctx, reply)
	}
}

// recordValidation marks the line validated with catalog's answer. An answer about a cart that
// is closed or unknown, or a line no longer there, changes nothing; so does a repeated answer.
// Like a change, its first attempt starts from the cache of open carts (a stale start is refused
// by the version's _id); a decision to change nothing is only trusted from the store.
func (s *Service) recordValidation(ctx context.Context, reply contract.ArticleValid) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	user := userOfCart(reply.ReferenceID)
	attempt := 0
	_, err := mongox.RetryOnConflict(ctx, func() (struct{}, error) {
		attempt++
		cur, cached := s.cache.open(user)
		if attempt > 1 || !cached {
			var err error
			if cur, err = s.store.Latest(ctx, user); errors.Is(err, errs.NotFound) {
				return struct{}{}, nil
			} else if err != nil {
				return struct{}{}, err
			}
			cached = false
		}
		next := cur.next(s.now())
		if cur.ID != reply.ReferenceID || !cur.Enabled || !next.markValidation(reply.ArticleID, reply.Valid) {
			if cached {
				return struct{}{}, errRecheck
			}
			return struct{}{}, nil
		}
		return struct{}{}, s.append(ctx, next)
	})
	return err
}

// errRecheck makes a decision taken on a cached cart be taken again on the store's.
var errRecheck = fmt.Errorf("check the cart in the store: %w", mongox.ErrLostRace)

// handleOrderPlaced consumes `cart_order_placed`: orders has placed the order of a closed cart,
// so its orderId is recorded there and `place_order` is no longer re-sent.
func handleOrderPlaced(svc *Service) bus.Handler {
	return func(ctx context.Context, d bus.Delivery) error {
		if d.Type != contract.TypeOrderPlaced {
			return bus.Permanent(fmt.Errorf("unexpected message type %q on cart_order_placed", d.Type))
		}
		var msg contract.OrderPlaced
		if err := d.Decode(&msg); err != nil {
			return err
		}
		if msg.CartID == "" || msg.UserID == "" || msg.OrderID == "" {
			return bus.Permanent(errors.New("order_placed without cartId, userId or orderId"))
		}
		found, err := svc.store.RecordOrder(ctx, msg.CartID, msg.UserID, msg.OrderID)
		if err != nil {
			return err
		}
		if !found {
			svc.log.WarnContext(ctx, "order_placed for no closed cart of that user awaiting its order, ignored",
				"cart", msg.CartID, "user", msg.UserID, "order", msg.OrderID)
		}
		return nil
	}
}

// ResendPlaceOrders sends `place_order` again for carts closed more than interval before now
// whose order has not come back, and reports how many it sent. Each cart is re-sent after
// interval, then after 2, 4, 8… intervals up to maxResendGap (pkg/backoff): re-sending every
// cart at every round, from every instance, buried a slow orders service under copies.
func (s *Service) ResendPlaceOrders(ctx context.Context, now time.Time, interval time.Duration) (int, error) {
	carts, err := s.store.AwaitingOrder(ctx, now.Add(-interval), 100)
	if err != nil {
		return 0, err
	}
	s.resends.First, s.resends.Max = interval, max(interval, maxResendGap)
	due := backoff.Due(&s.resends, carts, func(c Cart) string { return c.ID }, now)
	for i, c := range due {
		if err := s.sendPlaceOrder(ctx, c); err != nil {
			// Not sent: these carts are due again next round, their gap not doubled.
			for _, unsent := range due[i:] {
				s.resends.Retry(unsent.ID)
			}
			return i, err
		}
	}
	return len(due), nil
}

// revalidateLinesPerCart is the lines per cart a re-validation round asks about on average.
const revalidateLinesPerCart = 5

// maxResendGap bounds the backoff between two re-sends of one cart's place_order.
const maxResendGap = 10 * time.Minute

// Revalidate asks catalog again about every line of up to limit of the most recently changed open
// carts, so that catalog changes (an article disabled or deleted) show up in them, and about
// revalidateLinesPerCart*limit lines at most: a round's work does not grow with the size of
// the carts (every answer is a change of its cart). It reports how many requests it sent.
func (s *Service) Revalidate(ctx context.Context, limit int) (int, error) {
	carts, err := s.store.RecentOpen(ctx, limit)
	if err != nil {
		return 0, err
	}
	sent, budget := 0, revalidateLinesPerCart*limit
	for _, c := range carts {
		if sent+len(c.Articles) > budget && sent > 0 {
			break
		}
		for _, l := range c.Articles {
			if err := s.sendArticleValid(ctx, c.ID, l.ArticleID); err != nil {
				return sent, err
			}
			sent++
		}
	}
	return sent, nil
}
