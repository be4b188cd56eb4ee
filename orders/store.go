package orders

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// errVersionTaken means another writer appended an event to the order first (or the same fact
// is stored already): catch up and decide again.
var errVersionTaken = fmt.Errorf("event version or key already taken: %w", mongox.ErrLostRace)

// Store keeps the events (the source of truth) and the projections derived from them.
//
//	events        {_id: "<orderId>/<version>", key, orderId, version, type, at, data}
//	orders        the Order projection, _id = order id, with its version (rebuilt at will)
//	order_status  the Order_Status projection, _id = order id, with the version it shows
//	job_slots     {_id: status/slot, at}   one enqueued job per slot
//
// plus the work list of the status jobs (statuswork.go), each user's list of orders
// (userorders.go) and the unpaid-order slots (unpaid.go). Every read of the write path is one
// exact _id, and every "only once" rests on a unique _id or key: docs/design.md.
type Store struct {
	events         *mongo.Collection
	orders         *mongo.Collection
	statuses       *mongo.Collection
	slots          *mongo.Collection
	work           *mongo.Collection // the orders the status jobs must look at (statuswork.go)
	userOrders     *mongo.Collection // each user's list of orders (userorders.go)
	userOrderHeads *mongo.Collection
	unpaid         *mongo.Collection // each user's unpaid-order slots (unpaid.go)
	lists          listCache         // what listings read again (userorders.go)
}

// NewStore uses db and declares its indexes: a start reads no document, whatever the store
// holds. now is the clock of the listings' cache.
func NewStore(ctx context.Context, db *mongo.Database, now func() time.Time) (*Store, error) {
	s := &Store{
		events:         db.Collection("events"),
		orders:         db.Collection("orders"),
		statuses:       db.Collection("order_status"),
		slots:          db.Collection("job_slots"),
		work:           db.Collection("status_work"),
		userOrders:     db.Collection("user_orders"),
		userOrderHeads: db.Collection("user_order_heads"),
		unpaid:         db.Collection("unpaid_slots"),
		lists:          newListCache(now),
	}
	indexes := []struct {
		coll  *mongo.Collection
		model mongo.IndexModel
	}{
		// The fact an event records is stored once (Event.Key).
		{s.events, mongo.IndexModel{Keys: bson.D{{Key: "key", Value: 1}}, Options: options.Index().SetUnique(true).SetName("key")}},
		// An order is listed once per user (ListOrder).
		{s.userOrders, mongo.IndexModel{
			Keys:    bson.D{{Key: "orderId", Value: 1}, {Key: "userId", Value: 1}},
			Options: options.Index().SetUnique(true).SetName("order_user"),
		}},
		{s.statuses, mongo.IndexModel{ // StatusPage
			Keys:    bson.D{{Key: "status", Value: 1}, {Key: "updated", Value: -1}},
			Options: options.Index().SetName("status_updated"),
		}},
		{s.slots, mongo.IndexModel{Keys: bson.D{{Key: "at", Value: 1}}, Options: options.Index().SetName("at")}}, // ForgetSlots
		{s.work, mongo.IndexModel{ // WorkWithStatus
			Keys:    bson.D{{Key: "status", Value: 1}, {Key: "at", Value: 1}},
			Options: options.Index().SetName("status_at"),
		}},
	}
	for _, ix := range indexes {
		if err := mongox.EnsureIndexes(ctx, ix.coll, ix.model); err != nil {
			return nil, mongox.Unavailable(err)
		}
	}
	return s, nil
}

// --- events ---

type lineDoc struct {
	ArticleID string `bson:"articleId"`
	Quantity  int    `bson:"quantity"`
}

// eventData holds the fields of every event type; each type uses its own few.
type eventData struct {
	CartID    string    `bson:"cartId,omitempty"`
	UserID    string    `bson:"userId,omitempty"`
	Lines     []lineDoc `bson:"articles,omitempty"`
	ArticleID string    `bson:"articleId,omitempty"`
	Valid     bool      `bson:"valid,omitempty"`
	Price     int64     `bson:"priceCents,omitempty"`
	Stock     int       `bson:"stock,omitempty"`
	Method    string    `bson:"method,omitempty"`
	Amount    int64     `bson:"amountCents,omitempty"`
	Reason    string    `bson:"reason,omitempty"`
	By        string    `bson:"by,omitempty"`
	Carrier   string    `bson:"carrier,omitempty"`
	Tracking  string    `bson:"trackingCode,omitempty"`
	Slot      int       `bson:"unpaidSlot,omitempty"`
}

type eventDoc struct {
	ID      string    `bson:"_id"` // eventID(OrderID, Version)
	Key     string    `bson:"key"` // Event.Key: the fact it records
	OrderID string    `bson:"orderId"`
	Version int       `bson:"version"`
	Type    string    `bson:"type"`
	At      time.Time `bson:"at"`
	Data    eventData `bson:"data"`
}

func toEventDoc(e Event) eventDoc {
	d := eventDoc{ID: eventID(e.OrderID, e.Version), Key: e.Key(), OrderID: e.OrderID, Version: e.Version, Type: string(e.Type), At: e.At}
	switch {
	case e.Placed != nil:
		d.Data.CartID, d.Data.UserID, d.Data.Slot = e.Placed.CartID, e.Placed.UserID, e.Placed.UnpaidSlot
		for _, l := range e.Placed.Lines {
			d.Data.Lines = append(d.Data.Lines, lineDoc(l))
		}
	case e.Article != nil:
		d.Data.ArticleID, d.Data.Valid = e.Article.ArticleID, e.Article.Valid
		d.Data.Price, d.Data.Stock = int64(e.Article.Price), e.Article.Stock
	case e.Payment != nil:
		d.Data.Method, d.Data.Amount = string(e.Payment.Method), int64(e.Payment.Amount)
	case e.Cancellation != nil:
		d.Data.Reason, d.Data.By = e.Cancellation.Reason, e.Cancellation.By
	case e.Refund != nil:
		d.Data.Amount, d.Data.Reason = int64(e.Refund.Amount), e.Refund.Reason
	case e.Shipping != nil:
		d.Data.Carrier, d.Data.Tracking = e.Shipping.Carrier, e.Shipping.TrackingCode
	}
	return d
}

func (d eventDoc) event() Event {
	e := Event{OrderID: d.OrderID, Version: d.Version, Type: EventType(d.Type), At: d.At.UTC()}
	switch e.Type {
	case EventPlaced:
		p := &Placed{CartID: d.Data.CartID, UserID: d.Data.UserID, UnpaidSlot: d.Data.Slot}
		for _, l := range d.Data.Lines {
			p.Lines = append(p.Lines, Line(l))
		}
		e.Placed = p
	case EventArticleValidated:
		e.Article = &ArticleData{ArticleID: d.Data.ArticleID, Valid: d.Data.Valid, Price: money.Cents(d.Data.Price), Stock: d.Data.Stock}
	case EventPaymentDefined:
		e.Payment = &Payment{Method: PaymentMethod(d.Data.Method), Amount: money.Cents(d.Data.Amount)}
	case EventCancelled, EventRejected:
		e.Cancellation = &Cancellation{Reason: d.Data.Reason, By: d.Data.By}
	case EventRefunded:
		e.Refund = &Refund{Amount: money.Cents(d.Data.Amount), Reason: d.Data.Reason}
	case EventShipped:
		e.Shipping = &Shipping{Carrier: d.Data.Carrier, TrackingCode: d.Data.Tracking}
	}
	return e
}

// eventID is the _id of the order's event of version.
func eventID(orderID string, version int) string { return orderID + "/" + strconv.Itoa(version) }

// EventAt returns the order's event of version, if it is stored: one exact _id lookup.
func (s *Store) EventAt(ctx context.Context, orderID string, version int) (Event, bool, error) {
	d, found, err := mongox.FindID[eventDoc](ctx, s.events, eventID(orderID, version))
	return d.event(), found, err
}

// EventsAfter returns the events of the order after version, in version order, read by _id
// until one is missing (versions have no gaps: each is appended right after the one before).
func (s *Store) EventsAfter(ctx context.Context, orderID string, version int) ([]Event, error) {
	next := func(d eventDoc) any { return eventID(orderID, d.Version+1) }
	docs, err := mongox.After(ctx, s.events, eventDoc{Version: version}, next)
	events := make([]Event, len(docs))
	for i, d := range docs {
		events[i] = d.event()
	}
	return events, err
}

// Events returns the events of an order in version order (none for an unknown order).
func (s *Store) Events(ctx context.Context, orderID string) ([]Event, error) {
	return s.EventsAfter(ctx, orderID, 0)
}

// Append stores e. It fails with errVersionTaken when the order already has an event of that
// version, or the fact e records is stored already.
func (s *Store) Append(ctx context.Context, e Event) error {
	return s.AppendAll(ctx, []Event{e})
}

// AppendAll stores events, an order's consecutive versions, in turn (mongox.InsertInOrder: one
// round trip per mongox.MaxBatch events), stopping at the first refused, so what is stored is
// always the first few, never one after a gap. It fails with errVersionTaken when one of them is
// refused (its version or its fact is taken); the ones before it are stored then, and are found
// by reading the events after the version the caller started from.
func (s *Store) AppendAll(ctx context.Context, events []Event) error {
	docs := make([]any, len(events))
	for i, e := range events {
		docs[i] = toEventDoc(e)
	}
	err := mongox.InsertInOrder(ctx, s.events, docs)
	if mongox.IsDuplicate(err) {
		return errVersionTaken
	}
	return mongox.Unavailable(err)
}

// --- the Order projection ---

type orderArticleDoc struct {
	ArticleID    string `bson:"articleId"`
	Quantity     int    `bson:"quantity"`
	IsValidated  bool   `bson:"isValidated"`
	IsValid      bool   `bson:"isValid"`
	UnitaryPrice int64  `bson:"unitaryPriceCents"`
}

type paymentDoc struct {
	Method string `bson:"method"`
	Amount int64  `bson:"amountCents"`
}

type cancellationDoc struct {
	Reason string    `bson:"reason"`
	By     string    `bson:"by"`
	At     time.Time `bson:"at"`
}

type refundDoc struct {
	Amount int64  `bson:"amountCents"`
	Reason string `bson:"reason"`
}

type shippingDoc struct {
	Carrier      string    `bson:"carrier"`
	TrackingCode string    `bson:"trackingCode"`
	Shipped      time.Time `bson:"shipped"`
	Delivered    time.Time `bson:"delivered"`
}

type orderDoc struct {
	ID           string            `bson:"_id"`
	UserID       string            `bson:"userId"`
	CartID       string            `bson:"cartId"`
	Status       string            `bson:"status"`
	Articles     []orderArticleDoc `bson:"articles"`
	Payments     []paymentDoc      `bson:"payments"`
	TotalPrice   int64             `bson:"totalPriceCents"`
	TotalPayment int64             `bson:"totalPaymentCents"`
	Created      time.Time         `bson:"created"`
	Updated      time.Time         `bson:"updated"`
	Version      int               `bson:"version"`
	Validated    time.Time         `bson:"validated"`
	Rejection    string            `bson:"rejection,omitempty"`
	Cancellation *cancellationDoc  `bson:"cancellation,omitempty"`
	Refunds      []refundDoc       `bson:"refunds,omitempty"`
	Shipping     *shippingDoc      `bson:"shipping,omitempty"`
	UnpaidSlot   int               `bson:"unpaidSlot,omitempty"`
}

func toOrderDoc(o Order) orderDoc {
	d := orderDoc{
		ID: o.ID, UserID: o.UserID, CartID: o.CartID, Status: string(o.Status),
		Articles: []orderArticleDoc{}, Payments: []paymentDoc{},
		TotalPrice: int64(o.TotalPrice), TotalPayment: int64(o.TotalPayment),
		Created: o.Created, Updated: o.Updated, Version: o.Version,
		Validated: o.Validated, Rejection: o.Rejection, UnpaidSlot: o.UnpaidSlot,
	}
	if c := o.Cancellation; c != nil {
		d.Cancellation = &cancellationDoc{c.Reason, c.By, c.At}
	}
	for _, r := range o.Refunds {
		d.Refunds = append(d.Refunds, refundDoc{int64(r.Amount), r.Reason})
	}
	if sh := o.Shipping; sh != nil {
		d.Shipping = &shippingDoc{sh.Carrier, sh.TrackingCode, sh.Shipped, sh.Delivered}
	}
	for _, a := range o.Articles {
		d.Articles = append(d.Articles, orderArticleDoc{a.ArticleID, a.Quantity, a.IsValidated, a.IsValid, int64(a.UnitaryPrice)})
	}
	for _, p := range o.Payments {
		d.Payments = append(d.Payments, paymentDoc{string(p.Method), int64(p.Amount)})
	}
	return d
}

func (d orderDoc) order() Order {
	o := Order{
		ID: d.ID, UserID: d.UserID, CartID: d.CartID, Status: Status(d.Status),
		TotalPrice: money.Cents(d.TotalPrice), TotalPayment: money.Cents(d.TotalPayment),
		Created: d.Created.UTC(), Updated: d.Updated.UTC(), Version: d.Version,
		Validated: d.Validated.UTC(), Rejection: d.Rejection, UnpaidSlot: d.UnpaidSlot,
	}
	if c := d.Cancellation; c != nil {
		o.Cancellation = &Cancellation{Reason: c.Reason, By: c.By, At: c.At.UTC()}
	}
	for _, r := range d.Refunds {
		o.Refunds = append(o.Refunds, Refund{money.Cents(r.Amount), r.Reason})
	}
	if sh := d.Shipping; sh != nil {
		o.Shipping = &Shipping{sh.Carrier, sh.TrackingCode, sh.Shipped.UTC(), sh.Delivered.UTC()}
	}
	for _, a := range d.Articles {
		o.Articles = append(o.Articles, OrderArticle{a.ArticleID, a.Quantity, a.IsValidated, a.IsValid, money.Cents(a.UnitaryPrice)})
	}
	for _, p := range d.Payments {
		o.Payments = append(o.Payments, Payment{PaymentMethod(p.Method), money.Cents(p.Amount)})
	}
	return o
}

// SaveOrder stores o as the order's projection, replacing the whole document (saving twice
// changes nothing). The filter is the _id alone, the only filter every MongoDB-wire server
// answers from an index (with a version condition FerretDB on SQLite scans every order). So a
// slower writer may put back an older version just after a newer one; that is why every read
// folds in the events after the projection (Service.current, Store.listedOrder).
func (s *Store) SaveOrder(ctx context.Context, o Order) error {
	_, err := s.orders.ReplaceOne(ctx, bson.D{{Key: "_id", Value: o.ID}}, toOrderDoc(o), options.Replace().SetUpsert(true))
	if mongox.IsDuplicate(err) {
		return nil // a concurrent upsert inserted it first; its writer looks for newer events too
	}
	return mongox.Unavailable(err)
}

// Order returns the stored projection of an order.
func (s *Store) Order(ctx context.Context, orderID string) (Order, error) {
	var d orderDoc
	if err := s.orders.FindOne(ctx, bson.D{{Key: "_id", Value: orderID}}).Decode(&d); err != nil {
		return Order{}, mongox.NotFound(err, "order "+orderID)
	}
	return d.order(), nil
}

// --- the Order_Status projection ---

// OrderStatus is one entry of the Order_Status projection; its JSON is contract.OrderStatus
// (handleStatusList).
type OrderStatus struct {
	OrderID string    `bson:"_id"`
	UserID  string    `bson:"userId"`
	Status  Status    `bson:"status"`
	Updated time.Time `bson:"updated"`
}

// statusDoc is an Order_Status entry as stored: with the version of the order it shows.
type statusDoc struct {
	OrderStatus `bson:",inline"`
	Version     int `bson:"version"`
}

// SaveStatus writes the Order_Status entry of o: a whole-document replace by exact _id (a filter
// with anything next to the _id would scan the collection on FerretDB/SQLite), so idempotent.
// Not replacing a newer entry is the caller's look before (Service.saveStatusIfChanged).
func (s *Store) SaveStatus(ctx context.Context, o Order) error {
	doc := statusDoc{OrderStatus: statusOf(o), Version: o.Version}
	_, err := s.statuses.ReplaceOne(ctx, bson.D{{Key: "_id", Value: o.ID}}, doc, options.Replace().SetUpsert(true))
	if mongox.IsDuplicate(err) {
		return nil // a concurrent upsert of the same entry won
	}
	return mongox.Unavailable(err)
}

// statusOf is o's Order_Status entry.
func statusOf(o Order) OrderStatus {
	return OrderStatus{OrderID: o.ID, UserID: o.UserID, Status: o.Status, Updated: o.Updated}
}

// Status returns the order's Order_Status entry and the version it shows, if there is one.
func (s *Store) Status(ctx context.Context, orderID string) (OrderStatus, int, bool, error) {
	var d statusDoc
	err := s.statuses.FindOne(ctx, bson.D{{Key: "_id", Value: orderID}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return OrderStatus{}, 0, false, nil
	}
	if err != nil {
		return OrderStatus{}, 0, false, mongox.Unavailable(err)
	}
	d.Updated = d.Updated.UTC()
	return d.OrderStatus, d.Version, true, nil
}

// StatusPage returns one page (from 1) of the Order_Status projection, most recently updated
// first, optionally only status, and the total number of entries that match.
func (s *Store) StatusPage(ctx context.Context, status Status, page, size int) ([]OrderStatus, int64, error) {
	filter := bson.D{}
	if status != "" {
		filter = bson.D{{Key: "status", Value: string(status)}}
	}
	total, err := s.statuses.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, mongox.Unavailable(err)
	}
	cur, err := s.statuses.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "updated", Value: -1}, {Key: "_id", Value: 1}}).
		SetSkip(int64((page-1)*size)).SetLimit(int64(size)))
	if err != nil {
		return nil, 0, mongox.Unavailable(err)
	}
	items := []OrderStatus{}
	if err := cur.All(ctx, &items); err != nil {
		return nil, 0, mongox.Unavailable(err)
	}
	for i := range items {
		items[i].Updated = items[i].Updated.UTC()
	}
	return items, total, nil
}

// --- job slots ---

// ClaimSlot records that the job named slot is enqueued. Only the first claim of a slot
// succeeds (unique _id), so schedulers of several instances enqueue each slot once.
func (s *Store) ClaimSlot(ctx context.Context, slot string, at time.Time) (bool, error) {
	_, err := s.slots.InsertOne(ctx, bson.D{{Key: "_id", Value: slot}, {Key: "at", Value: at}})
	if mongox.IsDuplicate(err) {
		return false, nil
	}
	if err != nil {
		return false, mongox.Unavailable(err)
	}
	return true, nil
}

// ForgetSlots deletes the claims older than before; they only matter while their slot is current.
func (s *Store) ForgetSlots(ctx context.Context, before time.Time) error {
	_, err := s.slots.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: before}}}})
	return mongox.Unavailable(err)
}

// errNoOrder is returned for an order without events.
func errNoOrder(orderID string) error {
	// The client reads the text after the kind: "order … not found", not a bare "order …".
	return errs.Newf(errs.NotFound, "order %s not found", orderID)
}
