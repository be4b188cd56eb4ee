package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// Reserving the stock of an order (SPEC §4, order_placed): all of its articles or none, once
// per order however often the message comes and wherever a previous try stopped.
//
//   - Each line is decided by one move with the deterministic key "<order>/<article>/reserve":
//     a "reserve" move (−quantity) when the balance allows it, else a "refuse" move (delta 0).
//     Whoever appends that key first decides the line for good; a retry, or a second consumer
//     racing on a redelivery, finds the move and takes its outcome.
//   - If a line is refused, every reserved line is given back by a "release" move with the key
//     "<order>/<article>/release", appended at most once for the same reason.
//   - Then the order's reservation record (_id = order id) is written, reserved or rejected. A
//     retry of a recorded order only replies.
//
// The moves of all lines go in one insert, decided on the latest moves this instance knows of
// (see knownMoves); only lines whose insert is refused (a stale start, or a decision made by an
// earlier try) are done one by one. So a usual order costs a read of each article, one insert of
// its moves, one write of their heads and one of the record.
// Reservation states.
const (
	statePending  = "pending" // written by stores before the record came last; read as not recorded
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
// the same reservation without reserving anything twice. A recorded order keeps its lines; one
// stopped before its record is finished with the lines given again (orders sends the same).
func (s *Store) ReserveOrder(ctx context.Context, orderID string, lines []OrderLine) (Reservation, error) {
	if orderID == "" {
		return Reservation{}, errs.Newf(errs.Invalid, "order without id")
	}
	now := time.Now().UTC()
	r := Reservation{OrderID: orderID, Lines: normalizeLines(lines), Created: now, Updated: now}
	reqs, reqLines, err := s.reserveRequests(ctx, orderID, r.Lines)
	if err != nil {
		return r, err
	}
	moves, done, err := s.appendOrderMoves(ctx, orderID, reqs)
	switch {
	case err != nil:
		return r, err
	case done != nil: // recorded by an earlier try: only reply
		return *done, nil
	}
	for i, m := range moves {
		line := reqLines[i]
		line.Reserved, line.Stock = m.Reason == moveReserve, m.Balance
		if !line.Reserved {
			line.Refusal = m.Note
		}
		if err := s.priceLine(ctx, line, m); err != nil {
			return r, err
		}
	}
	allReserved := true
	for _, line := range r.Lines {
		allReserved = allReserved && line.Reserved
	}

	r.State = stateReserved
	if !allReserved {
		r.State = stateRejected
		reqs, reqLines = reqs[:0], reqLines[:0]
		for i := range r.Lines {
			if line := &r.Lines[i]; line.Reserved {
				reqs = append(reqs, releaseRequest(orderID, *line))
				reqLines = append(reqLines, line)
			}
		}
		moves, _, err := s.appendOrderMoves(ctx, "", reqs)
		if err != nil {
			return r, err
		}
		for i, m := range moves {
			reqLines[i].Stock = m.Balance
		}
	}

	r.Updated = time.Now().UTC()
	// Replaced rather than inserted, since a store written before kept a pending record. A
	// duplicate is a consumer that decided the same lines at the same time and upserted first.
	_, err = s.reservations.ReplaceOne(ctx, bson.M{"_id": orderID}, r, options.Replace().SetUpsert(true))
	if err != nil && !mongox.IsDuplicate(err) {
		return r, mongox.Unavailable(fmt.Errorf("record reservation %s: %w", orderID, err))
	}
	return r, nil
}

// appendOrderMoves appends the moves reqs ask for, in their articles' turns (see takeTurns), all
// at once, then one by one those refused.
// With orderID set, a refused one may mean the order was reserved before: its record, if
// written, is returned as done and nothing more is appended.
func (s *Store) appendOrderMoves(ctx context.Context, orderID string, reqs []moveRequest) (moves []stockMove, done *Reservation, err error) {
	give, err := s.takeTurns(ctx, reqs)
	if err != nil {
		return nil, nil, err
	}
	defer give()
	moves, refused, err := s.appendAtOnce(ctx, reqs)
	if err != nil || len(refused) == 0 {
		return moves, nil, err
	}
	if orderID != "" {
		r, found, err := s.reservation(ctx, orderID)
		if err != nil {
			return nil, nil, err
		}
		if found && r.State != statePending {
			return nil, &r, nil
		}
	}
	for _, i := range refused {
		if moves[i], err = s.appendMove(ctx, reqs[i]); err != nil {
			return nil, nil, err
		}
	}
	return moves, nil, nil
}

// reserveRequests returns the moves that decide the lines of the order, and their lines. Lines
// that cannot be reserved whatever the stock are refused here, with no move: a quantity below 1,
// an unknown article. An article is read only when this store knows no state of it from the
// ledger (see sellState), those reads a few at a time.
func (s *Store) reserveRequests(ctx context.Context, orderID string, lines []ReservedLine) ([]moveRequest, []*ReservedLine, error) {
	reqs := make([]*moveRequest, len(lines))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(mongox.MaxParallel)
	for i := range lines {
		line := &lines[i]
		oid, err := parseArticleID(line.ArticleID)
		switch {
		case line.Quantity < 1:
			line.Refusal = refusedQuantity
			continue
		case err != nil:
			line.Refusal = refusedUnknown
			continue
		}
		if last, ok := s.known.latestOf(oid); ok && last.State != nil {
			reqs[i] = reserveRequest(orderID, line, oid, nil)
			continue
		}
		g.Go(func() error {
			doc, err := s.articleDoc(gctx, oid)
			switch {
			case errors.Is(err, errs.NotFound):
				line.Refusal = refusedUnknown
				return nil
			case err != nil:
				return err
			}
			reqs[i] = reserveRequest(orderID, line, oid, stateOf(doc))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	var out []moveRequest
	var outLines []*ReservedLine
	for i, req := range reqs {
		if req != nil {
			out, outLines = append(out, *req), append(outLines, &lines[i])
		}
	}
	return out, outLines, nil
}

// priceLine sets the line's price from the state its move was decided with, or from the
// article for a move of a ledger written before moves had states.
func (s *Store) priceLine(ctx context.Context, line *ReservedLine, m stockMove) error {
	st := m.State
	if st == nil {
		doc, err := s.articleDoc(ctx, m.ArticleID)
		if err != nil {
			return err
		}
		st = stateOf(doc)
	}
	line.Price = money.Cents(st.Price)
	return nil
}

// reservation returns the order's reservation record, if it was written.
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

// reserveRequest asks for the move deciding line of the order, on the latest balance and state
// of its article (state: one just read from the article, or nil).
func reserveRequest(orderID string, line *ReservedLine, articleID bson.ObjectID, state *sellState) *moveRequest {
	return &moveRequest{articleID: articleID, key: reserveMoveKey(orderID, line.ArticleID), orderID: orderID, state: state,
		decide: func(balance int64, st sellState) (int64, string, string) {
			switch {
			case !st.Enabled:
				return 0, moveRefuse, refusedDisabled
			case balance < line.Quantity:
				return 0, moveRefuse, refusedInsufficient
			}
			return -line.Quantity, moveReserve, ""
		}}
}

// releaseRequest asks for the move giving back what line reserved: its reserve move took
// exactly its quantity.
func releaseRequest(orderID string, line ReservedLine) moveRequest {
	oid, _ := parseArticleID(line.ArticleID) // a reserved line's id was read as an article's
	return moveRequest{articleID: oid, key: releaseMoveKey(orderID, line.ArticleID), orderID: orderID,
		decide: func(int64, sellState) (int64, string, string) { return line.Quantity, moveRelease, "" }}
}
