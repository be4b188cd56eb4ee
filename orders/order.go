// Package orders is the orders service (SPEC §3.5), written as event sourcing with CQRS.
//
// An order is never updated in place: what happens to it is appended as an Event numbered 1, 2,
// 3… per order, and the order is what Fold computes from its events (this file, no I/O).
//
// Writes (service.go) start from a recent state of the order, decide the next events and
// append them at the next versions; a writer that was behind loses the version's _id, catches
// up and decides again. Reads fold the events stored after a projection (store.go). The batch
// jobs (jobs.go) keep Order_Status and repair orders stuck in placed.
//
// The flow: cart's place_order → placed → order_placed to catalog (messages.go) → catalog's
// article-data answers (answers.go) → validated or invalid → payments (http.go) →
// payment_defined → shipped → delivered, or cancelled on the way.
//
// What is unique, what may lag and who repairs it: docs/design.md.
package orders

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/money"
)

// Status is where an order stands (the seed's PLACED, VALIDATED, INVALID, PAYMENT_DEFINED).
type Status string

// The order statuses.
const (
	StatusPlaced         Status = "placed"
	StatusValidated      Status = "validated"
	StatusInvalid        Status = "invalid"
	StatusPaymentDefined Status = "payment_defined"
	StatusCancelled      Status = "cancelled"
	StatusShipped        Status = "shipped"
	StatusDelivered      Status = "delivered"
)

// Statuses lists every status, in the order an order usually goes through them.
var Statuses = []Status{StatusPlaced, StatusValidated, StatusInvalid, StatusPaymentDefined,
	StatusShipped, StatusDelivered, StatusCancelled}

// Valid tells whether s is one of the statuses.
func (s Status) Valid() bool {
	for _, known := range Statuses {
		if s == known {
			return true
		}
	}
	return false
}

// EventType names what happened to an order.
type EventType string

// The event types. Only events are stored; the order is what folding them gives.
const (
	// EventPlaced: cart's place_order was received. Always version 1.
	EventPlaced EventType = "placed"
	// EventArticleValidated: catalog answered article-data for one article of the order.
	EventArticleValidated EventType = "article_validated"
	// EventPaymentDefined: the owner defined (part of) the payment.
	EventPaymentDefined EventType = "payment_defined"
	// EventCancelled: the owner, an admin or the payment deadline cancelled the order.
	EventCancelled EventType = "cancelled"
	// EventRefunded: what was paid of a cancelled order is owed back. Appended with the
	// cancellation, in the same insert.
	EventRefunded EventType = "refunded"
	// EventRejected: the order was refused before catalog reserved anything (too many unpaid
	// orders of its user); it is invalid.
	EventRejected EventType = "rejected"
	// EventShipped: an admin shipped the order.
	EventShipped EventType = "shipped"
	// EventDelivered: an admin recorded its delivery.
	EventDelivered EventType = "delivered"
)

// Cancellation and rejection reasons a client can rely on.
const (
	ReasonPaymentDeadline     = "payment_deadline"
	ReasonTooManyUnpaidOrders = "too_many_unpaid_orders"
)

// MaxPayments is the most payments one order takes (SPEC §2): it bounds the events and the work a
// single order can cause.
const MaxPayments = 10

// maxAmount bounds a payment (ten billion): far from int64, whatever the sums.
const maxAmount money.Cents = 1_000_000_000_000

// PaymentMethod is how the owner pays.
type PaymentMethod string

// The accepted payment methods.
const (
	Cash   PaymentMethod = "CASH"
	Credit PaymentMethod = "CREDIT"
	Debit  PaymentMethod = "DEBIT"
)

// Valid tells whether m is an accepted method.
func (m PaymentMethod) Valid() bool { return m == Cash || m == Credit || m == Debit }

// Line is an article and quantity as cart sends them.
type Line struct {
	ArticleID string `json:"articleId"`
	Quantity  int    `json:"quantity"`
}

// Placed is the data of an EventPlaced.
type Placed struct {
	CartID string
	UserID string
	Lines  []Line
	// UnpaidSlot is the user's unpaid-order slot the order holds, from 1 (unpaid.go); 0 none.
	UnpaidSlot int
}

// ArticleData is the data of an EventArticleValidated: catalog's answer about one article.
type ArticleData struct {
	ArticleID string
	Valid     bool
	Price     money.Cents
	Stock     int
}

// Payment is the data of an EventPaymentDefined.
type Payment struct {
	Method PaymentMethod
	Amount money.Cents
}

// Cancellation is the data of an EventCancelled (and, without By, of an EventRejected).
type Cancellation struct {
	Reason string
	By     string // the user who cancelled; "" for the status jobs (the payment deadline)
	At     time.Time
}

// Refund is the data of an EventRefunded: what is owed back, and why.
type Refund struct {
	Amount money.Cents
	Reason string
}

// Shipping is the data of an EventShipped; Delivered is set by an EventDelivered.
type Shipping struct {
	Carrier      string
	TrackingCode string
	Shipped      time.Time
	Delivered    time.Time // zero until delivered
}

// Event is one stored fact about an order. At most one of Placed, Article, Payment,
// Cancellation, Refund and Shipping is set, by Type (none for
// EventDelivered).
type Event struct {
	OrderID      string
	Version      int
	Type         EventType
	At           time.Time
	Placed       *Placed
	Article      *ArticleData
	Payment      *Payment
	Cancellation *Cancellation // EventCancelled, EventRejected
	Refund       *Refund
	Shipping     *Shipping
}

// Key identifies the fact an event records, so the same fact is never stored twice: there is
// one placed event per order, one answer per article. Every payment is a fact of its own,
// keyed by its version. Keys are unique in the store.
func (e Event) Key() string {
	switch e.Type {
	case EventPlaced, EventCancelled, EventRefunded, EventRejected, EventShipped, EventDelivered:
		// Each happens once in an order's life.
		return e.OrderID + "/" + string(e.Type)
	case EventArticleValidated:
		return e.OrderID + "/article/" + e.Article.ArticleID
	}
	return e.OrderID + "/" + string(e.Type) + "/" + strconv.Itoa(e.Version)
}

// OrderIDForCart is the id of the order placed from cartID. Deriving it from the cart makes a
// second place_order for the same cart collide with the first instead of making a new order.
// It has the shape of a MongoDB ObjectID (24 hex digits).
func OrderIDForCart(cartID string) string {
	sum := sha256.Sum256([]byte("order:" + cartID))
	return hex.EncodeToString(sum[:12])
}

// ValidOrderID tells whether id has the shape of an order id.
func ValidOrderID(id string) bool {
	if len(id) != 24 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// OrderArticle is one line of an order with what catalog said about it.
type OrderArticle struct {
	ArticleID    string
	Quantity     int
	IsValidated  bool // catalog answered
	IsValid      bool // catalog said it is valid
	UnitaryPrice money.Cents
}

// Order is the Order projection: what folding an order's events gives. It is never stored as
// the source of truth, only as a read model that can be rebuilt from the events at any time.
type Order struct {
	ID           string
	UserID       string
	CartID       string
	Status       Status
	Articles     []OrderArticle
	Payments     []Payment
	TotalPrice   money.Cents
	TotalPayment money.Cents
	Created      time.Time
	Updated      time.Time
	Version      int           // version of the last event folded in; 0 for an order with no events
	Validated    time.Time     // when it became validated (the payment deadline runs from it)
	Rejection    string        // why it was refused before any reservation (EventRejected)
	Cancellation *Cancellation // set once cancelled
	Refunds      []Refund
	Shipping     *Shipping // set once shipped
	UnpaidSlot   int       // the user's unpaid-order slot it took when placed (unpaid.go)
}

// AmountDue is what is left to pay: the total less the payments while the order can be paid
// (validated), else 0.
func (o Order) AmountDue() money.Cents {
	if o.Status != StatusValidated || o.TotalPayment >= o.TotalPrice {
		return 0
	}
	return o.TotalPrice - o.TotalPayment
}

// PaymentDeadline is when a validated order is cancelled unless paid, after deadline (0: never).
func (o Order) PaymentDeadline(deadline time.Duration) (time.Time, bool) {
	if deadline <= 0 || o.Status != StatusValidated || o.Validated.IsZero() {
		return time.Time{}, false
	}
	return o.Validated.Add(deadline), true
}

// Unpaid tells whether o counts among its user's unpaid orders (ORDERS_MAX_UNPAID): placed, or
// validated and not fully paid.
func (o Order) Unpaid() bool {
	return o.Status == StatusPlaced || o.Status == StatusValidated
}

// Cancellable tells whether o may still be cancelled.
func (o Order) Cancellable() bool {
	switch o.Status {
	case StatusPlaced, StatusValidated, StatusPaymentDefined:
		return true
	}
	return false
}

// Exists tells whether the order has been placed.
func (o Order) Exists() bool { return o.Version > 0 }

// Article returns the order's line for articleID.
func (o Order) Article(articleID string) (OrderArticle, bool) {
	for _, a := range o.Articles {
		if a.ArticleID == articleID {
			return a, true
		}
	}
	return OrderArticle{}, false
}

// Fold builds the order from its events, in version order. It is a pure function of the
// events: folding them again, any number of times, gives the same order.
func Fold(events []Event) Order {
	return Order{}.ApplyAll(events)
}

// ApplyAll returns o with events, the ones that follow it in version order, folded in.
func (o Order) ApplyAll(events []Event) Order {
	for _, e := range events {
		o = o.Apply(e)
	}
	return o
}

// Apply returns o with e folded in. A repeated fact (which the store's unique keys already
// prevent) changes nothing.
func (o Order) Apply(e Event) Order {
	o.Version = e.Version
	switch e.Type {
	case EventPlaced:
		if o.ID != "" || e.Placed == nil {
			return o
		}
		o.ID, o.UserID, o.CartID, o.UnpaidSlot = e.OrderID, e.Placed.UserID, e.Placed.CartID, e.Placed.UnpaidSlot
		o.Articles = make([]OrderArticle, len(e.Placed.Lines))
		for i, l := range e.Placed.Lines {
			o.Articles[i] = OrderArticle{ArticleID: l.ArticleID, Quantity: l.Quantity}
		}
		o.Created = e.At
	case EventArticleValidated:
		if e.Article == nil {
			return o
		}
		o.Articles = answered(o.Articles, *e.Article)
	case EventPaymentDefined:
		if e.Payment == nil {
			return o
		}
		o.Payments = append(append([]Payment(nil), o.Payments...), *e.Payment)
	case EventCancelled:
		if e.Cancellation == nil || o.Cancellation != nil {
			return o
		}
		c := *e.Cancellation
		c.At = e.At
		o.Cancellation = &c
	case EventRefunded:
		if e.Refund == nil {
			return o
		}
		o.Refunds = append(append([]Refund(nil), o.Refunds...), *e.Refund)
	case EventRejected:
		if e.Cancellation == nil {
			return o
		}
		o.Rejection = e.Cancellation.Reason
	case EventShipped:
		if e.Shipping == nil || o.Shipping != nil {
			return o
		}
		sh := *e.Shipping
		sh.Shipped, sh.Delivered = e.At, time.Time{}
		o.Shipping = &sh
	case EventDelivered:
		if o.Shipping == nil {
			return o
		}
		sh := *o.Shipping
		sh.Delivered = e.At
		o.Shipping = &sh
	}
	return o.updated(e.At)
}

// answered returns a copy of lines with catalog's answer a recorded on a's line, unless that
// line is answered already. A copy: o shares its slices with the order it was derived from.
func answered(lines []OrderArticle, a ArticleData) []OrderArticle {
	lines = append([]OrderArticle(nil), lines...)
	for i, l := range lines {
		if l.ArticleID == a.ArticleID && !l.IsValidated {
			lines[i].IsValidated, lines[i].IsValid, lines[i].UnitaryPrice = true, a.Valid, a.Price
		}
	}
	return lines
}

// updated returns o with its totals and status computed again after a change at.
func (o Order) updated(at time.Time) Order {
	before := o.Status
	o.Updated = at
	o.TotalPrice, o.TotalPayment = 0, 0
	for _, a := range o.Articles {
		o.TotalPrice += a.UnitaryPrice * money.Cents(a.Quantity)
	}
	for _, p := range o.Payments {
		o.TotalPayment += p.Amount
	}
	o.Status = o.status()
	if before == StatusPlaced && o.Status == StatusValidated {
		o.Validated = at
	}
	return o
}

// settled tells whether no event can change what a client sees of o any more: it is
// delivered, or invalid with every article answered.
func (o Order) settled() bool {
	switch o.Status {
	case StatusDelivered:
		return true
	case StatusInvalid, StatusCancelled:
		for _, a := range o.Articles {
			if !a.IsValidated {
				return false
			}
		}
		return true
	}
	return false
}

// status follows the seed: invalid as soon as one article is invalid, validated when every
// article is confirmed, payment_defined once the payments cover the total.
func (o Order) status() Status {
	switch {
	case o.Cancellation != nil:
		return StatusCancelled
	case o.Shipping != nil && !o.Shipping.Delivered.IsZero():
		return StatusDelivered
	case o.Shipping != nil:
		return StatusShipped
	case o.Rejection != "":
		return StatusInvalid
	}
	all := true
	for _, a := range o.Articles {
		if a.IsValidated && !a.IsValid {
			return StatusInvalid
		}
		all = all && a.IsValidated
	}
	switch {
	case !all:
		return StatusPlaced
	case len(o.Payments) > 0 && o.TotalPayment >= o.TotalPrice:
		return StatusPaymentDefined
	}
	return StatusValidated
}
