package catalog

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// Reserving the stock of an order (SPEC §4, order_placed): all of its articles or none, once
// per order however often the message comes and wherever a previous try stopped.
//
//   - The order's reservation record (_id = order id) is written first, as pending, with the
//     order's lines; a retry works on those lines.
//   - Each line is decided by one move with the deterministic id "<order>/<article>/reserve":
//     a "reserve" move (−quantity) when the balance allows it, else a "refuse" move (delta 0).
//     Whoever appends that id first decides the line for good; a retry, or a second consumer
//     racing on a redelivery, finds the move and takes its outcome.
//   - If a line is refused, every reserved line is given back by a "release" move with the id
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

// ReservedLine is the outcome of one line of an order.
type ReservedLine struct {
	ArticleID string `bson:"articleId"`
	Quantity  int64  `bson:"quantity"`
	Reserved  bool   `bson:"reserved"`
	Refusal   string `bson:"refusal,omitempty"`
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
		for _, line := range r.Lines {
			if err := s.releaseLine(ctx, orderID, line); err != nil {
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
	r, found, err := s.reservation(ctx, orderID)
	if err != nil || found {
		return r, err
	}
	now := time.Now().UTC()
	r = Reservation{OrderID: orderID, State: statePending, Lines: normalizeLines(lines), Created: now, Updated: now}
	_, err = s.reservations.InsertOne(ctx, r)
	if mongox.IsDuplicate(err) {
		// Another consumer got the same order at the same moment; continue with its record.
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

// The deterministic ids of the moves that decide, and undo, one line of an order.
func reserveMoveID(orderID, articleID string) string { return orderID + "/" + articleID + "/reserve" }
func releaseMoveID(orderID, articleID string) string { return orderID + "/" + articleID + "/release" }

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
	m, err := s.appendMove(ctx, doc.ID, reserveMoveID(orderID, line.ArticleID), orderID,
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
	if !line.Reserved {
		line.Refusal = m.Note
	}
	return nil
}

// releaseLine gives back what line reserved, if it reserved anything.
func (s *Store) releaseLine(ctx context.Context, orderID string, line ReservedLine) error {
	if !line.Reserved {
		return nil
	}
	reserved, found, err := s.findMove(ctx, reserveMoveID(orderID, line.ArticleID))
	if err != nil || !found {
		return err
	}
	_, err = s.appendMove(ctx, reserved.ArticleID, releaseMoveID(orderID, line.ArticleID), orderID,
		func(int64) (int64, string, string) { return -reserved.Delta, moveRelease, "" })
	return err
}
