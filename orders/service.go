package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/turns"
)

// Service is what the orders service does; HTTP handlers, message handlers and batch jobs call it.
type Service struct {
	store   *Store
	turns   turns.Turns                   // the changes of one order in this instance take turns
	recent  *expirable.LRU[string, Order] // where changes start (see startChange)
	answers answerBatches                 // catalog's answers of one order, stored together (answers.go)
	bus     bus.Publisher
	log     *slog.Logger
	now     func() time.Time
	// broadcast tells the other instances of every order version stored (order_changes), so
	// their listings drop what they cached of it (orderCache).
	broadcast func(msg any)
	deadline  time.Duration // see ServiceConfig.PaymentDeadline
	maxUnpaid int           // see ServiceConfig.MaxUnpaid
}

// ServiceConfig is what a Service needs besides its store.
type ServiceConfig struct {
	Bus bus.Publisher
	Log *slog.Logger
	Now func() time.Time // the clock; nil is the wall clock
	// Broadcast, if set, tells the other instances of every order version stored.
	Broadcast func(msg any)
	// PaymentDeadline is ORDERS_PAYMENT_DEADLINE: a validated order unpaid that long after it
	// was validated is cancelled by the validated status job; 0 never.
	PaymentDeadline time.Duration
	// MaxUnpaid is ORDERS_MAX_UNPAID: the unpaid orders a user may hold (unpaid.go); 0 any.
	MaxUnpaid int
}

// recentOrders bounds how many orders a Service remembers as its changes left them.
const recentOrders = 10_000

// NewService returns the service over store.
func NewService(store *Store, c ServiceConfig) *Service {
	clock := c.Now
	if clock == nil {
		clock = time.Now
	}
	// Event times are kept to the millisecond, as MongoDB stores them, so an order folded from
	// events just appended equals the same order folded from the events read back.
	now := func() time.Time { return clock().UTC().Truncate(time.Millisecond) }
	broadcast := c.Broadcast
	if broadcast == nil {
		broadcast = func(any) {}
	}
	return &Service{
		store: store, bus: c.Bus, log: c.Log, now: now, broadcast: broadcast,
		recent:   expirable.NewLRU[string, Order](recentOrders, nil, 0), // a TTL of 0: only the LRU bound
		deadline: c.PaymentDeadline, maxUnpaid: c.MaxUnpaid,
	}
}

// stored records that version of the order was stored: an older cached copy is dropped here,
// and every instance is told.
func (s *Service) stored(orderID string, version int) {
	s.store.lists.orders.Heard(orderID, version)
	s.broadcast(orderChanged{OrderID: orderID, Version: version})
}

// remember records o, the order as a change or a repair of this instance left it.
func (s *Service) remember(o Order) {
	s.recent.Add(o.ID, o)
	s.store.lists.orders.Put(o.ID, o.Version, o) // folded: a placed order as listings show it
}

// decision looks at the current order and returns the events to append, in order (usually
// one), or none when there is nothing to do (the fact is already recorded, the message is
// stale…), or an error to refuse.
type decision func(o Order) ([]Event, error)

// change is the one way an order changes, starting from what this instance knows of it.
func (s *Service) change(ctx context.Context, orderID string, decide decision) (Order, error) {
	return s.changeFrom(ctx, orderID, nil, decide)
}

// changeFrom changes the order in three steps: start from a recent state (startChange), decide
// and append at the next versions, catching up and deciding again when that state was behind
// (attempt), then list, release and project what was appended (afterAppend). Changes of one
// order are so serialised, never lost, never doubled: docs/design.md. from, when set, is the
// state the caller believes is the latest. The order as the change left it is returned.
func (s *Service) changeFrom(ctx context.Context, orderID string, from *Order, decide decision) (Order, error) {
	give, err := s.turns.Take(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	defer give()
	c, err := s.startChange(ctx, orderID, from)
	if err != nil {
		return Order{}, err
	}
	o, err := mongox.RetryOnConflict(ctx, func() (Order, error) { return c.attempt(ctx, decide) })
	if c.appended > 0 { // even when listing or projecting failed after: the events are stored
		s.stored(orderID, c.appended)
	}
	if err == nil {
		s.remember(o)
	}
	return o, err
}

// orderChange is one change in progress: the state it decides on, and what it stored.
type orderChange struct {
	s        *Service
	orderID  string
	o        Order // the state the next decision is made on
	start    Order // the state the change started from
	read     bool  // the projection was read (not guessed)
	current  bool  // o was just seen to be the latest: no event follows it
	appended int   // the newest version stored since this change began inserting
}

// startChange picks the state to decide on: the order as this instance's last change left it
// (an order folded up to a version never changes, so that memory needs no upkeep), else from,
// else the projection. Any of them may be behind the events; the append finds out.
func (s *Service) startChange(ctx context.Context, orderID string, from *Order) (*orderChange, error) {
	c := &orderChange{s: s, orderID: orderID}
	last, remembered := s.recent.Get(orderID)
	switch {
	case remembered && (from == nil || last.Version > from.Version):
		c.o = last
	case from != nil:
		c.o = *from
	default:
		p, err := s.projected(ctx, orderID)
		if err != nil {
			return nil, err
		}
		c.o, c.read = p, true
	}
	c.start = c.o
	return c, nil
}

// attempt decides on c.o and appends the events decided at the next versions, in one ordered
// insert. A refused insert (c.o was behind) catches up and returns errVersionTaken, so that
// RetryOnConflict decides again on the newer state.
func (c *orderChange) attempt(ctx context.Context, decide decision) (Order, error) {
	events, refusal := decide(c.o)
	if len(events) == 0 {
		return c.o, c.confirmNothing(ctx, refusal)
	}
	at := c.s.now()
	for i := range events {
		events[i].OrderID, events[i].Version, events[i].At = c.orderID, c.o.Version+1+i, at
	}
	if err := c.s.store.AppendAll(ctx, events); err != nil {
		return c.o, c.lostAppend(ctx, err)
	}
	before := c.o
	c.o, c.current = c.o.ApplyAll(events), false
	c.appended = c.o.Version
	return c.o, c.s.afterAppend(ctx, before, c.o, at)
}

// confirmNothing returns refusal, the outcome of a decision to append nothing, once it is seen
// to rest on the latest state (one more lookup), or errVersionTaken to decide again. Events
// caught up with that hid a change a client sees are repaired: their writer may have stopped
// before listing or projecting them (or, from the empty order, before listing a placed order).
func (c *orderChange) confirmNothing(ctx context.Context, refusal error) error {
	if !c.current {
		v := c.o.Version
		if err := c.catchUp(ctx); err != nil {
			return err
		}
		if c.o.Version != v {
			return errVersionTaken
		}
	}
	if c.o.Version > c.start.Version && forStatusJobs(c.start, c.o) {
		if err := c.s.repair(ctx, c.o); err != nil {
			return err
		}
	}
	return refusal
}

// lostAppend handles a refused append: another writer took a version first (catch up and
// decide again), or the store failed. An ordered insert stores the events before the refused
// one: they are among those caught up (telling of another writer's too is harmless).
func (c *orderChange) lostAppend(ctx context.Context, err error) error {
	if !errors.Is(err, errVersionTaken) {
		return err
	}
	if err := c.catchUp(ctx); err != nil {
		return err
	}
	c.appended = max(c.appended, c.o.Version)
	return errVersionTaken
}

// catchUp folds in the events stored after c.o. A change that started from nothing without
// reading (Place guesses a new order) reads the projection first: the shorter way.
func (c *orderChange) catchUp(ctx context.Context) error {
	if c.o.Version == 0 && !c.read {
		p, err := c.s.projected(ctx, c.orderID)
		if err != nil {
			return err
		}
		c.o, c.read = p, true
	}
	later, err := c.s.store.EventsAfter(ctx, c.orderID, c.o.Version)
	c.o, c.current = c.o.ApplyAll(later), err == nil
	return err
}

// afterAppend does what follows the events that turned before into o: list the order for the
// status jobs before projecting it (a placed order is listed already, from its placed event),
// give back its unpaid slot once it no longer counts as unpaid, and project it.
func (s *Service) afterAppend(ctx context.Context, before, o Order, at time.Time) error {
	if before.Status != StatusPlaced {
		if err := s.store.AddWork(ctx, o.ID, o.Status, at); err != nil {
			return err
		}
	}
	if before.Unpaid() && !o.Unpaid() {
		if err := s.releaseUnpaid(ctx, o); err != nil {
			return err
		}
	}
	if !projectable(o) {
		return nil // not projected: see project
	}
	return s.project(ctx, o)
}

// forStatusJobs tells whether a change that turned before into after is one the status jobs
// must copy into Order_Status: every change is one a client sees, but an order that was and
// stays placed is on the work list already.
func forStatusJobs(before, after Order) bool {
	return before.Status != StatusPlaced || after.Status != StatusPlaced
}

// projectable tells whether o is stored as the Order projection: only once it has left placed.
// Every change of an order that has left placed is one a client sees (see project).
func projectable(o Order) bool { return o.Status != StatusPlaced }

// projected returns the order's stored projection; an order without one is the empty Order
// (version 0), from which its events, if any, are found.
func (s *Service) projected(ctx context.Context, orderID string) (Order, error) {
	o, err := s.store.Order(ctx, orderID)
	if errors.Is(err, errs.NotFound) {
		return Order{}, nil
	}
	return o, err
}

// project stores o as the Order projection: a starting point that may lag or be missing, since
// every read folds in the events after it. A placed order is not projected (reads fold its few
// events), which saves a write per checkout. docs/design.md says who repairs a lagging one.
func (s *Service) project(ctx context.Context, o Order) error {
	return s.store.SaveOrder(ctx, o)
}

// current returns the order as its events say: its projection (the empty order for a placed
// one), caught up with the events after it, and repaired when those hid a change a client sees.
// Two lookups by _id when the projection is current. An unknown order is the empty Order.
func (s *Service) current(ctx context.Context, orderID string) (Order, error) {
	p, err := s.projected(ctx, orderID)
	if err != nil {
		return p, err
	}
	later, err := s.store.EventsAfter(ctx, orderID, p.Version)
	if err != nil || len(later) == 0 {
		return p, err
	}
	o := p.ApplyAll(later)
	if !projectable(o) {
		return o, nil // still placed: not projected by design, and on the work list already
	}
	return o, s.repair(ctx, o)
}

// repair does for o, found ahead of its projection, what the writer of the events it misses may
// have stopped before doing: list it for the status jobs, project it, tell every instance.
func (s *Service) repair(ctx context.Context, o Order) error {
	if err := s.store.AddWork(ctx, o.ID, o.Status, o.Updated); err != nil {
		return err
	}
	if projectable(o) {
		if err := s.project(ctx, o); err != nil {
			return err
		}
	}
	s.stored(o.ID, o.Version)
	s.store.lists.orders.Put(o.ID, o.Version, o)
	return nil
}

// Rebuild folds the order's events again and stores the result as its projection.
func (s *Service) Rebuild(ctx context.Context, orderID string) (Order, error) {
	events, err := s.store.Events(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	if len(events) == 0 {
		return Order{}, errNoOrder(orderID)
	}
	o := Fold(events)
	if err := s.project(ctx, o); err != nil {
		return o, err
	}
	s.stored(o.ID, o.Version)
	s.store.lists.orders.Put(o.ID, o.Version, o)
	return o, nil
}

// Get returns the order as current does. It does not read the listings' orderCache: one order
// is cheap to read from the store, and so GET /orders/{id} is never stale.
func (s *Service) Get(ctx context.Context, orderID string) (Order, error) {
	o, err := s.current(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	if !o.Exists() {
		return Order{}, errNoOrder(orderID)
	}
	return o, nil
}

// canRead: the owner and admins may read an order. Anyone else is told it does not exist,
// rather than that it exists and is not theirs.
func canRead(u tokens.User, o Order) error {
	if o.UserID == u.ID || u.IsAdmin() {
		return nil
	}
	return errNoOrder(o.ID)
}

// canPay: only the owner pays; an admin who is not the owner gets 403, anyone else 404.
func canPay(u tokens.User, o Order) error {
	switch {
	case o.UserID == u.ID:
		return nil
	case u.IsAdmin():
		return errs.Newf(errs.Forbidden, "only the owner can pay an order").WithCode(errs.CodeNotOwner)
	}
	return errNoOrder(o.ID)
}

// GetFor returns the order for u (owner or admin).
func (s *Service) GetFor(ctx context.Context, u tokens.User, orderID string) (Order, error) {
	o, err := s.Get(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	if err := canRead(u, o); err != nil {
		return Order{}, err
	}
	return o, nil
}

// RebuildFor rebuilds the order's projection for u (owner or admin).
func (s *Service) RebuildFor(ctx context.Context, u tokens.User, orderID string) (Order, error) {
	if _, err := s.GetFor(ctx, u, orderID); err != nil {
		return Order{}, err
	}
	return s.Rebuild(ctx, orderID)
}

// ListPage returns page (from 1) of size of u's orders, newest first, and how many u holds.
func (s *Service) ListPage(ctx context.Context, u tokens.User, page, size int) ([]Order, int, error) {
	return s.store.UserOrdersPage(ctx, u.ID, page, size)
}

// StatusPage returns one page (from 1) of the Order_Status projection, optionally only the
// entries in status, and how many entries match in all.
func (s *Service) StatusPage(ctx context.Context, status Status, page, size int) ([]OrderStatus, int64, error) {
	return s.store.StatusPage(ctx, status, page, size)
}

// Pay records a payment by u: while the order is validated (409 otherwise), MaxPayments at
// most, each at most the amount due (400 exceeds_amount_due); the one that covers the total
// moves the order to payment_defined. Concurrent payments are serialised by the change.
func (s *Service) Pay(ctx context.Context, u tokens.User, orderID string, p Payment) (Order, error) {
	return s.change(ctx, orderID, func(o Order) ([]Event, error) {
		if !o.Exists() {
			return nil, errNoOrder(orderID)
		}
		if err := canPay(u, o); err != nil {
			return nil, err
		}
		switch o.Status {
		case StatusInvalid:
			return nil, errs.Newf(errs.Conflict, "the order is invalid and cannot be paid").WithCode(errs.CodeOrderInvalid)
		case StatusPlaced:
			return nil, errs.Newf(errs.Conflict, "the order is not validated yet, try again shortly").WithCode(errs.CodeOrderNotValidated)
		case StatusPaymentDefined, StatusShipped, StatusDelivered:
			return nil, errs.Newf(errs.Conflict, "the payments already cover the order's total").WithCode(errs.CodeOrderPaid)
		case StatusCancelled:
			return nil, errs.Newf(errs.Conflict, "the order is cancelled and cannot be paid").WithCode(errs.CodeOrderCancelled)
		}
		// A cap for the order's life, not a rate: 409, as waiting would not help (no 429).
		if len(o.Payments) >= MaxPayments {
			return nil, errTooManyPayments
		}
		if due := o.AmountDue(); p.Amount > due {
			return nil, errExceedsAmountDue(due)
		}
		return []Event{{Type: EventPaymentDefined, Payment: &p}}, nil
	})
}

// errExceedsAmountDue refuses a payment above what is due, naming the amount due.
func errExceedsAmountDue(due money.Cents) error {
	v := &errs.Validation{Summary: "the payment exceeds the amount due", Code: errs.CodeExceedsAmountDue}
	v.Add("amount", errs.Break(errs.RuleExceedsAmountDue, due))
	return v
}

// canCancel: the owner and admins may cancel; anyone else is told the order does not exist.
func canCancel(u tokens.User, o Order) error { return canRead(u, o) }

// Cancel cancels the order for u (owner or admin) with reason, from placed, validated or
// payment_defined, recording what was paid as a refund in the same insert; shipped and
// delivered orders are 409, a cancelled one is returned as it is. order_cancelled is published
// on every call for a cancelled order, so a publication lost after the append is made up by a
// retry or by the cancelled job (catalog returns the stock once per order).
func (s *Service) Cancel(ctx context.Context, u tokens.User, orderID, reason string) (Order, error) {
	by := u.ID
	return s.cancel(ctx, orderID, func(o Order) error { return canCancel(u, o) }, reason, by)
}

// cancel appends the cancellation of the order (and its refund) unless allow refuses or the
// order cannot be cancelled any more, and publishes order_cancelled for a cancelled order.
func (s *Service) cancel(ctx context.Context, orderID string, allow func(Order) error, reason, by string) (Order, error) {
	o, err := s.change(ctx, orderID, func(o Order) ([]Event, error) {
		if !o.Exists() {
			return nil, errNoOrder(orderID)
		}
		if err := allow(o); err != nil {
			return nil, err
		}
		return cancellation(o, reason, by)
	})
	if err != nil {
		return o, err
	}
	return o, s.PublishOrderCancelled(ctx, o)
}

// cancellation decides the events that cancel o: none for an order cancelled already, 409 for
// one past payment (shipped, delivered) or invalid.
func cancellation(o Order, reason, by string) ([]Event, error) {
	switch o.Status {
	case StatusCancelled:
		return nil, nil
	case StatusShipped, StatusDelivered:
		return nil, errs.Newf(errs.Conflict, "the order is %s and can no longer be cancelled", o.Status).WithCode(errs.CodeNotCancellable)
	case StatusInvalid:
		return nil, errs.Newf(errs.Conflict, "the order is invalid: it holds nothing to cancel").WithCode(errs.CodeNotCancellable)
	}
	events := []Event{{Type: EventCancelled, Cancellation: &Cancellation{Reason: reason, By: by}}}
	if o.TotalPayment > 0 {
		events = append(events, Event{Type: EventRefunded, Refund: &Refund{Amount: o.TotalPayment, Reason: reason}})
	}
	return events, nil
}

// PublishOrderCancelled publishes order_cancelled for o on sell_flow: catalog returns the
// units it reserved for the order, once per order, however often the message comes.
func (s *Service) PublishOrderCancelled(ctx context.Context, o Order) error {
	msg := contract.OrderCancelled{OrderID: o.ID, UserID: o.UserID, Articles: []contract.OrderLine{}}
	if o.Cancellation != nil {
		msg.Reason = o.Cancellation.Reason
	}
	for _, a := range o.Articles {
		msg.Articles = append(msg.Articles, contract.OrderLine{ArticleID: a.ArticleID, Quantity: a.Quantity})
	}
	err := bus.Send(ctx, s.bus, contract.ExchangeSellFlow, contract.KeyOrderCancelled, contract.TypeOrderCancelled, msg)
	if err != nil {
		return fmt.Errorf("%w: %w", errs.Unavailable, err)
	}
	return nil
}

// Ship records that an admin shipped the order, from payment_defined; shipping it again with
// the same data changes nothing, anything else is 409.
func (s *Service) Ship(ctx context.Context, u tokens.User, orderID string, sh Shipping) (Order, error) {
	return s.change(ctx, orderID, func(o Order) ([]Event, error) {
		switch {
		case !o.Exists():
			return nil, errNoOrder(orderID)
		case o.Shipping != nil && o.Shipping.Carrier == sh.Carrier && o.Shipping.TrackingCode == sh.TrackingCode:
			return nil, nil
		case o.Status != StatusPaymentDefined:
			return nil, errs.Newf(errs.Conflict, "only a paid order can be shipped; this one is %s", o.Status).WithCode(errs.CodeNotShippable)
		}
		return []Event{{Type: EventShipped, Shipping: &sh}}, nil
	})
}

// Deliver records that a shipped order was delivered; delivering it again changes nothing.
func (s *Service) Deliver(ctx context.Context, u tokens.User, orderID string) (Order, error) {
	return s.change(ctx, orderID, func(o Order) ([]Event, error) {
		switch {
		case !o.Exists():
			return nil, errNoOrder(orderID)
		case o.Status == StatusDelivered:
			return nil, nil
		case o.Status != StatusShipped:
			return nil, errs.Newf(errs.Conflict, "only a shipped order can be delivered; this one is %s", o.Status).WithCode(errs.CodeNotDeliverable)
		}
		return []Event{{Type: EventDelivered}}, nil
	})
}

// expire cancels o with reason payment_deadline if it is validated, not fully paid and past
// its deadline, and tells whether it did. The validated status job calls it, and publishes the
// order_cancelled of every cancelled order it looks at (refreshStatus).
func (s *Service) expire(ctx context.Context, o Order) (Order, bool, error) {
	at, ok := o.PaymentDeadline(s.deadline)
	if !ok || s.now().Before(at) {
		return o, false, nil
	}
	expired := false
	o, err := s.change(ctx, o.ID, func(o Order) ([]Event, error) {
		expired = false
		at, ok := o.PaymentDeadline(s.deadline)
		if !ok || s.now().Before(at) {
			return nil, nil // paid or cancelled meanwhile
		}
		expired = true
		return cancellation(o, ReasonPaymentDeadline, "")
	})
	return o, expired && err == nil, err
}

// errTooManyPayments refuses a payment on an order that has MaxPayments already: a quota of SPEC
// §2 (429), one that never resets, so its Retry-After only asks the client not to insist.
var errTooManyPayments = errs.RateLimitedf(24*time.Hour, "the order has %d payments already, the most it takes", MaxPayments).WithCode(errs.CodeTooManyPayments)

// Place stores the placed event of the order of cart p.CartID. It returns the order and
// whether this call created it (false for a repeated place_order).
func (s *Service) Place(ctx context.Context, p Placed) (Order, bool, error) {
	orderID := OrderIDForCart(p.CartID)
	// Listed first, so an order is never stored without being listed; a listed order not
	// stored (this placing stops here) is not shown.
	if err := s.store.ListOrder(ctx, p.UserID, orderID); err != nil {
		return Order{}, false, err
	}
	slot := 0 // the user's unpaid-order slot claimed for it (unpaid.go); 0 none, or no limit
	if s.maxUnpaid > 0 {
		var err error
		if slot, err = s.store.ClaimUnpaid(ctx, p.UserID, orderID, s.maxUnpaid); err != nil {
			return Order{}, false, err
		}
	}
	p.UnpaidSlot = slot
	created := false // as the last decision saw it: that one's event was appended
	// Started from the empty order without reading: a new order is the usual case, and for a
	// known one the placed event's _id (version 1) is taken, which makes changeFrom catch up.
	o, err := s.changeFrom(ctx, orderID, &Order{}, func(o Order) ([]Event, error) {
		created = !o.Exists()
		if !created {
			return nil, nil
		}
		events := []Event{{Type: EventPlaced, Placed: &p}}
		if s.maxUnpaid > 0 && slot == 0 {
			events = append(events, Event{Type: EventRejected, Cancellation: &Cancellation{Reason: ReasonTooManyUnpaidOrders}})
		}
		return events, nil
	})
	if err == nil && !created && slot > 0 && (slot != o.UnpaidSlot || !o.Unpaid()) {
		// A repeated place_order claimed a slot the order does not hold: give it back.
		err = s.store.ReleaseUnpaid(ctx, p.UserID, orderID, slot)
	}
	return o, created && err == nil, err
}

// PublishOrderPlaced publishes order_placed for o on sell_flow, asking for answers on the order
// queue. Nothing records that it went out: the placed job publishes it again for every order
// still placed after stuckAfter, and catalog reserves once per order however often it comes.
func (s *Service) PublishOrderPlaced(ctx context.Context, o Order) error {
	msg := contract.OrderPlaced{OrderID: o.ID, CartID: o.CartID, UserID: o.UserID, Articles: []contract.OrderLine{}}
	if o.Rejection != "" {
		// Refused before any reservation (unpaid.go): cart still waits for order_placed to stop
		// sending place_order, but catalog is asked for nothing, so the order never holds stock.
		return s.sendOrderPlaced(ctx, msg)
	}
	for _, a := range o.Articles {
		msg.Articles = append(msg.Articles, contract.OrderLine{ArticleID: a.ArticleID, Quantity: a.Quantity})
	}
	return s.sendOrderPlaced(ctx, msg)
}

// sendOrderPlaced publishes msg on sell_flow, asking for answers on the order queue.
func (s *Service) sendOrderPlaced(ctx context.Context, msg contract.OrderPlaced) error {
	err := bus.Send(ctx, s.bus, contract.ExchangeSellFlow, contract.KeyOrderPlaced, contract.TypeOrderPlaced, msg,
		bus.ReplyTo(contract.ExchangeOrder, contract.QueueOrder))
	if err != nil {
		return fmt.Errorf("%w: %w", errs.Unavailable, err)
	}
	return nil
}
