package catalog

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// Reserving the stock of an order (SPEC §4, order_placed): all of its articles or none, once
// per order however often the message comes and wherever a previous try stopped.
//
//   - The order's reservation record (_id = order id) is written first, as pending, with the
//     order's lines; a retry works on those lines.
//   - Each line is decided by one move with the deterministic key "<order>/<article>/reserve":
//     a "reserve" move (−quantity) when the balance allows it, else a "refuse" move (delta 0).
//     Whoever appends that id first decides the line for good; a retry, or a second consumer
//     racing on a redelivery, finds the move and takes its outcome.
//   - If a line is refused, every reserved line is given back by a "release" move with the key
//     "<order>/<article>/release", appended at most once for the same reason.
//   - Then the record is marked reserved or rejected. A retry of a marked order only replies.

// Reservation states.
const (
	statePending  = "pending"
	stateReserved = "reserved"
	stateRejected = "rejected"
)

// Why a line was refused.
const (
	refusedUnknown      = "unknown article"
	refusedDisabled     = "article disabled"
	refusedInsufficient = "insufficient stock"
	refusedQuantity     = "quantity must be at least 1"
)

// OrderLine is a quantity of an article an order asks for.
type OrderLine struct {
	ArticleID string `bson:"articleId" json:"articleId"`
	Quantity  int64  `bson:"quantity" json:"quantity"`
}

// ReservedLine is the outcome of one line of an order, with the article's price and stock as
// the reservation saw them (what the order's article-data answers report).
type ReservedLine struct {
	ArticleID string      `bson:"articleId"`
	Quantity  int64       `bson:"quantity"`
	Reserved  bool        `bson:"reserved"`
	Refusal   string      `bson:"refusal,omitempty"`
	Price     money.Cents `bson:"price"`
	Stock     int64       `bson:"stock"`
}

// Reservation is the record of the stock reserved for one order.
type Reservation struct {
	OrderID string         `bson:"_id"`
	State   string         `bson:"state"`
	Lines   []ReservedLine `bson:"lines"`
	Created time.Time      `bson:"created"`
	Updated time.Time      `bson:"updated"`
}

// normalizeLines merges lines of the same article and sorts them by article id, so every try
// of an order walks the same lines in the same order.
func normalizeLines(lines []OrderLine) []ReservedLine {
	byArticle := map[string]int64{}
	for _, l := range lines {
		byArticle[l.ArticleID] += l.Quantity
	}
	out := make([]ReservedLine, 0, len(byArticle))
	for id, q := range byArticle {
		out = append(out, ReservedLine{ArticleID: id, Quantity: q})
	}
	slices.SortFunc(out, func(a, b ReservedLine) int { return cmp.Compare(a.ArticleID, b.ArticleID) })
	return out
}

// ReserveOrder reserves the stock of every line of the order, or of none. It is idempotent:
// calling it again for the same order (after success, or after an error at any point) finishes
// the same reservation without reserving anything twice; lines given on later calls are ignored.
func (s *Store) ReserveOrder(ctx context.Context, orderID string, lines []OrderLine) (Reservation, error) {
	if orderID == "" {
		return Reservation{}, errs.Newf(errs.Invalid, "order without id")
	}
	r, err := s.startReservation(ctx, orderID, lines)
	if err != nil || r.State != statePending {
		return r, err
	}

	allReserved := true
	for i := range r.Lines {
		if err := s.reserveLine(ctx, orderID, &r.Lines[i]); err != nil {
			return r, err
		}
		allReserved = allReserved && r.Lines[i].Reserved
	}
	r.State = stateReserved
	if !allReserved {
		for i := range r.Lines {
			if err := s.releaseLine(ctx, orderID, &r.Lines[i]); err != nil {
				return r, err
			}
		}
		r.State = stateRejected
	}

	r.Updated = time.Now().UTC()
	_, err = s.reservations.UpdateOne(ctx, bson.M{"_id": orderID},
		bson.M{"$set": bson.M{"state": r.State, "lines": r.Lines, "updated": r.Updated}})
	if err != nil {
		return r, mongox.Unavailable(fmt.Errorf("mark reservation %s: %w", orderID, err))
	}
	return r, nil
}

// startReservation returns the order's reservation record, writing it as pending the first time.
func (s *Store) startReservation(ctx context.Context, orderID string, lines []OrderLine) (Reservation, error) {
	now := time.Now().UTC()
	r := Reservation{OrderID: orderID, State: statePending, Lines: normalizeLines(lines), Created: now, Updated: now}
	_, err := s.reservations.InsertOne(ctx, r)
	if mongox.IsDuplicate(err) {
		// The order was seen before (a redelivery, or another consumer at the same moment):
		// continue with its record.
		r, _, err = s.reservation(ctx, orderID)
		return r, err
	}
	if err != nil {
		return r, mongox.Unavailable(fmt.Errorf("start reservation %s: %w", orderID, err))
	}
	return r, nil
}

// reservation returns the order's reservation record, if it was started.
func (s *Store) reservation(ctx context.Context, orderID string) (Reservation, bool, error) {
	var r Reservation
	err := s.reservations.FindOne(ctx, bson.M{"_id": orderID}).Decode(&r)
	if isNoDocuments(err) {
		return r, false, nil
	}
	if err != nil {
		return r, false, mongox.Unavailable(fmt.Errorf("read reservation %s: %w", orderID, err))
	}
	return r, true, nil
}

// The deterministic keys of the moves that decide, and undo, one line of an order.
func reserveMoveKey(orderID, articleID string) string { return orderID + "/" + articleID + "/reserve" }
func releaseMoveKey(orderID, articleID string) string { return orderID + "/" + articleID + "/release" }

// reserveLine decides line, by appending its reserve move or finding the one appended before.
func (s *Store) reserveLine(ctx context.Context, orderID string, line *ReservedLine) error {
	line.Reserved, line.Refusal = false, ""
	if line.Quantity < 1 {
		line.Refusal = refusedQuantity
		return nil
	}
	doc, err := s.findArticleDoc(ctx, line.ArticleID)
	if isUnknownArticle(err) {
		line.Refusal = refusedUnknown
		return nil
	}
	if err != nil {
		return err
	}
	line.Price = money.Cents(doc.Price)
	m, err := s.appendMove(ctx, doc.ID, reserveMoveKey(orderID, line.ArticleID), orderID,
		func(balance int64) (int64, string, string) {
			switch {
			case !doc.Enabled:
				return 0, moveRefuse, refusedDisabled
			case balance < line.Quantity:
				return 0, moveRefuse, refusedInsufficient
			}
			return -line.Quantity, moveReserve, ""
		})
	if err != nil {
		return err
	}
	line.Reserved = m.Reason == moveReserve
	line.Stock = m.Balance
	if !line.Reserved {
		line.Refusal = m.Note
	}
	return nil
}

// releaseLine gives back what line reserved, if it reserved anything: the reserve move took
// exactly its quantity.
func (s *Store) releaseLine(ctx context.Context, orderID string, line *ReservedLine) error {
	if !line.Reserved {
		return nil
	}
	oid, err := parseArticleID(line.ArticleID)
	if err != nil {
		return err
	}
	m, err := s.appendMove(ctx, oid, releaseMoveKey(orderID, line.ArticleID), orderID,
		func(int64) (int64, string, string) { return line.Quantity, moveRelease, "" })
	line.Stock = m.Balance
	return err
}
