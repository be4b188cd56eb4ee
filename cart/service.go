package cart

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/backoff"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/quota"
)

// opTimeout bounds one cart operation; Store.Prune relies on operations being this short.
const opTimeout = 30 * time.Second

// Service is what the cart service does, for its HTTP handlers and message consumers.
type Service struct {
	store   *Store
	bus     bus.Publisher
	catalog articleSource
	log     *slog.Logger
	cache   *cartCache // for reads, and to start changes from (see cartCache)

	// broadcast, when set, tells the other instances of every state stored (cart_changes).
	broadcast func(msg any)
	resends   backoff.Schedule // of place_order re-sends

	// checkouts, when set, counts each user's checkouts against checkoutLimit.
	checkouts     *quota.Slots
	checkoutLimit quota.Limit
}

// NewService returns the cart service over store, publishing to b and checking articles in
// catalog. Every state it stores is recorded in its cache of open carts.
func NewService(store *Store, b bus.Publisher, catalog articleSource, log *slog.Logger) *Service {
	s := &Service{store: store, bus: b, catalog: catalog, log: log, cache: newCartCache(cacheTTL)}
	store.stored = s.stored
	return s
}

// LimitCheckouts bounds each user's checkouts to perMinute per clock minute, counted in slots
// (SPEC §2). Without it, or with perMinute 0, checkouts are not counted and cost no round trip.
func (s *Service) LimitCheckouts(slots *quota.Slots, perMinute int) {
	s.checkouts = slots
	s.checkoutLimit = quota.Limit{Name: "checkouts", Max: int64(perMinute), Per: time.Minute}
}

// stored records a state just stored in the cache, and broadcasts it.
func (s *Service) stored(c Cart) {
	s.cache.put(c)
	if s.broadcast != nil {
		s.broadcast(cartChanged{UserID: c.UserID, Gen: c.Gen, Version: c.Version})
	}
}

// now is the time stamped on cart states: UTC and in milliseconds, as MongoDB stores times, so a
// state read back equals the state written.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// current returns the user's open cart: its latest state, or — when the user has none, or their
// newest cart is closed — their next cart, empty and not stored yet (Version 0).
func (s *Service) current(ctx context.Context, userID string) (Cart, error) {
	latest, err := s.store.Latest(ctx, userID)
	switch {
	case errors.Is(err, errs.NotFound):
		return newCart(userID, 1, now()), nil
	case err != nil:
		return Cart{}, err
	case !latest.Enabled:
		return newCart(userID, latest.Gen+1, now()), nil
	}
	return latest, nil
}

// start returns the state a change starts from: on its first attempt, the user's open cart from
// the cache when it holds it; on every retry (the cached state was not the latest), or without
// one, from the store, as current does.
func (s *Service) start(ctx context.Context, userID string, attempt int) (Cart, error) {
	if attempt == 1 {
		if c, ok := s.cache.open(userID); ok {
			return c, nil
		}
	}
	return s.current(ctx, userID)
}

// Open returns the user's open cart, creating it empty when there is none.
func (s *Service) Open(ctx context.Context, userID string) (Cart, error) {
	// c is the next version: version 1 means the cart was never stored, so store it now.
	return s.change(ctx, userID, func(c *Cart) (bool, error) { return c.Version == 1, nil })
}

// Current returns the user's open cart to show it (GET /cart): from the cache when it holds
// it, else as Open does.
func (s *Service) Current(ctx context.Context, userID string) (Cart, error) {
	if c, ok := s.cache.open(userID); ok {
		return c, nil
	}
	c, err := s.Open(ctx, userID)
	if err == nil {
		s.cache.put(c)
	}
	return c, err
}

// Add adds quantity of an article to the user's open cart and asks catalog to validate it.
func (s *Service) Add(ctx context.Context, userID, articleID string, quantity int) (Cart, error) {
	c, err := s.change(ctx, userID, func(c *Cart) (bool, error) { return true, c.add(articleID, quantity) })
	if err != nil {
		return Cart{}, err
	}
	s.requestValidation(ctx, c.ID, articleID)
	return c, nil
}

// ChangeBy adds delta (±1) to the quantity of a line of the user's open cart; a line at 0 is removed.
func (s *Service) ChangeBy(ctx context.Context, userID, articleID string, delta int) (Cart, error) {
	return s.change(ctx, userID, func(c *Cart) (bool, error) { return true, c.changeBy(articleID, delta) })
}

// Remove removes a line of the user's open cart.
func (s *Service) Remove(ctx context.Context, userID, articleID string) (Cart, error) {
	return s.change(ctx, userID, func(c *Cart) (bool, error) { return true, c.remove(articleID) })
}

// change applies edit to a copy of the user's open cart and stores it as the cart's next
// version when edit says it changed something. When that version exists already (a concurrent
// request stored it first, or the cached state it started from was not the latest), it starts
// over from the store's latest state.
func (s *Service) change(ctx context.Context, userID string, edit func(*Cart) (bool, error)) (Cart, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	attempt := 0
	return mongox.RetryOnConflict(ctx, func() (Cart, error) {
		attempt++
		cur, err := s.start(ctx, userID, attempt)
		if err != nil {
			return Cart{}, err
		}
		next := cur.next(now())
		changed, err := edit(&next)
		if err != nil || !changed {
			return cur, err
		}
		if err := s.store.Append(ctx, next); err != nil {
			return Cart{}, err
		}
		return next, nil
	})
}

// Validate checks the user's open cart against catalog.
func (s *Service) Validate(ctx context.Context, userID string) (Report, error) {
	c, err := s.current(ctx, userID)
	if err != nil {
		return Report{}, err
	}
	return validateLines(ctx, s.catalog, c.Articles)
}

// Checkout closes the user's open cart and sends `place_order` for it. It refuses an empty cart
// and one with validation errors. Of two racing checkouts of one cart, one closes it and the
// other gets errs.Conflict.
//
// Every checkout counts against the user's checkout quota, first, so that one past it is
// refused (errs.RateLimited) before it costs a validation or a write, and the cart stays open.
func (s *Service) Checkout(ctx context.Context, userID string) (Cart, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if s.checkouts != nil {
		if err := s.checkouts.Take(ctx, userID, s.checkoutLimit); err != nil {
			return Cart{}, err
		}
	}
	attempt := 0
	var checked []Line // the lines report is about
	var report Report
	return mongox.RetryOnConflict(ctx, func() (Cart, error) {
		attempt++
		cur, err := s.start(ctx, userID, attempt)
		if err != nil {
			return Cart{}, err
		}
		if len(cur.Articles) == 0 {
			return Cart{}, &checkoutRefused{reason: "the cart is empty", code: errs.CodeCartEmpty, problems: []Problem{}}
		}
		// A retry whose cart changed only by catalog's answers (no line or quantity changed)
		// keeps its report: asking again would let a stream of answers about a large cart
		// keep its checkout from ever ending.
		if !sameLines(checked, cur.Articles) {
			if report, err = validateLines(ctx, s.catalog, cur.Articles); err != nil {
				return Cart{}, err
			}
			checked = cur.Articles
		}
		if len(report.Errors) > 0 {
			return Cart{}, &checkoutRefused{reason: "the cart has invalid articles", code: errs.CodeCheckoutRefused, problems: report.Errors}
		}
		closed := cur.next(now())
		closed.Enabled = false
		err = s.store.Append(ctx, closed)
		if err == nil { // closed: this state is now the outbox of place_order
			s.tryPlaceOrder(ctx, closed)
			return closed, nil
		}
		// The next version exists: a line change (check again), another checkout, or a stale
		// cached start (check again, from the store).
		if errors.Is(err, errVersionTaken) {
			if latest, getErr := s.store.Latest(ctx, userID); getErr == nil && (latest.ID != cur.ID || !latest.Enabled) {
				return Cart{}, errs.Newf(errs.Conflict, "the cart is already checked out").WithCode(errs.CodeCartCheckedOut)
			}
		}
		return Cart{}, err
	})
}

// sameLines tells whether a and b hold the same articles in the same quantities, in order.
func sameLines(a, b []Line) bool {
	return slices.EqualFunc(a, b, func(x, y Line) bool { return x.ArticleID == y.ArticleID && x.Quantity == y.Quantity })
}
