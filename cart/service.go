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
	store     *Store
	bus       bus.Publisher
	catalog   articleSource
	log       *slog.Logger
	now       func() time.Time
	broadcast func(msg any)
	cache     *cartCache       // for reads, and to start changes from (see cartCache)
	resends   backoff.Schedule // of place_order re-sends

	checkouts     *quota.Slots // nil: checkouts are not counted
	checkoutLimit quota.Limit
}

// ServiceDeps is what a Service needs.
type ServiceDeps struct {
	Store   *Store
	Bus     bus.Publisher
	Catalog articleSource
	Log     *slog.Logger
	Now     func() time.Time
	// Broadcast tells the other instances of every state stored (cart_changes); may be nil.
	Broadcast func(msg any)
	// Checkouts, when set with CheckoutsPerMinute > 0, counts each user's checkouts per clock
	// minute (SPEC §2); otherwise checkouts are not counted and cost no round trip.
	Checkouts          *quota.Slots
	CheckoutsPerMinute int
}

// NewService returns the cart service of d. Every state it stores is recorded in its cache of
// open carts and broadcast.
func NewService(d ServiceDeps) *Service {
	s := &Service{store: d.Store, bus: d.Bus, catalog: d.Catalog, log: d.Log, broadcast: d.Broadcast}
	// Times are kept to the millisecond in UTC, as MongoDB stores them, so a state read back
	// equals the state written.
	s.now = func() time.Time { return d.Now().UTC().Truncate(time.Millisecond) }
	s.cache = newCartCache(cacheTTL, s.now)
	if s.broadcast == nil {
		s.broadcast = func(any) {}
	}
	if d.Checkouts != nil && d.CheckoutsPerMinute > 0 {
		s.checkouts = d.Checkouts
		s.checkoutLimit = quota.Limit{Name: "checkouts", Max: int64(d.CheckoutsPerMinute), Per: time.Minute}
	}
	return s
}

// append stores c as its cart's next state (see Store.Append), then records it in the cache
// and broadcasts it.
func (s *Service) append(ctx context.Context, c Cart) error {
	if err := s.store.Append(ctx, c); err != nil {
		return err
	}
	s.cache.put(c)
	s.broadcast(cartChanged{UserID: c.UserID, Gen: c.Gen, Version: c.Version})
	return nil
}

// current returns the user's open cart: its latest state, or — when the user has none, or their
// newest cart is closed — their next cart, empty and not stored yet (Version 0).
func (s *Service) current(ctx context.Context, userID string) (Cart, error) {
	latest, err := s.store.Latest(ctx, userID)
	switch {
	case errors.Is(err, errs.NotFound):
		return newCart(userID, 1, s.now()), nil
	case err != nil:
		return Cart{}, err
	case !latest.Enabled:
		return newCart(userID, latest.Gen+1, s.now()), nil
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

// ChangeBy adds delta (±1) to the quantity of a line of the user's open cart; a line at 0 is
// removed.
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
		next := cur.next(s.now())
		changed, err := edit(&next)
		if err != nil || !changed {
			return cur, err
		}
		if err := s.append(ctx, next); err != nil {
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
// other gets errs.Conflict. It counts against the user's checkout quota first, so one past it
// is refused (errs.RateLimited) before it costs a validation or a write, the cart still open.
func (s *Service) Checkout(ctx context.Context, userID string) (Cart, error) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if s.checkouts != nil {
		if err := s.checkouts.Take(ctx, userID, s.checkoutLimit); err != nil {
			return Cart{}, err
		}
	}
	var co checkout
	return mongox.RetryOnConflict(ctx, func() (Cart, error) { return s.closeCart(ctx, userID, &co) })
}

// checkout is what the attempts of one checkout share.
type checkout struct {
	attempt int
	checked []Line // the lines report is about
	report  Report
}

// closeCart is one attempt of a checkout: validate the open cart, store its closed state (the
// outbox of place_order, see the package comment), then send place_order.
func (s *Service) closeCart(ctx context.Context, userID string, co *checkout) (Cart, error) {
	co.attempt++
	cur, err := s.start(ctx, userID, co.attempt)
	if err != nil {
		return Cart{}, err
	}
	if len(cur.Articles) == 0 {
		return Cart{}, &checkoutRefused{reason: "the cart is empty", code: errs.CodeCartEmpty, problems: []Problem{}}
	}
	// A retry whose lines did not change (only catalog's answers did) keeps its report: asking
	// again would let a stream of answers about a large cart keep its checkout from ending.
	if !sameLines(co.checked, cur.Articles) {
		if co.report, err = validateLines(ctx, s.catalog, cur.Articles); err != nil {
			return Cart{}, err
		}
		co.checked = cur.Articles
	}
	if len(co.report.Errors) > 0 {
		return Cart{}, &checkoutRefused{reason: "the cart has invalid articles", code: errs.CodeCheckoutRefused, problems: co.report.Errors}
	}
	closed := cur.next(s.now())
	closed.Enabled = false
	err = s.append(ctx, closed)
	if err == nil {
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
}

// sameLines tells whether a and b hold the same articles in the same quantities, in order.
func sameLines(a, b []Line) bool {
	return slices.EqualFunc(a, b, func(x, y Line) bool { return x.ArticleID == y.ArticleID && x.Quantity == y.Quantity })
}
