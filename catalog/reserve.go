package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/sync/errgroup"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// Reserving the stock of an order (SPEC §4, order_placed): all of its lines or none, once per
// order. Three steps, each safe to repeat after a crash (docs/design.md, "Reservations"):
// reserve decides each line by a move with key "<order>/<article>/reserve"; release gives back
// the reserved lines of a rejected order ("<order>/<article>/release"); record writes the
// reservation, the order's answer from then on.

// Reservation states.
const (
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

// ReserveOrder reserves the stock of every line of the order, or of none. Calling it again for
// the same order (after success, or after an error at any point) finishes the same reservation
// without reserving anything twice; a recorded order is only read.
func (s *Store) ReserveOrder(ctx context.Context, orderID string, lines []OrderLine) (Reservation, error) {
	if orderID == "" {
		return Reservation{}, errs.Newf(errs.Invalid, "order without id")
	}
	r := s.newReservation(orderID, lines)
	recorded, err := s.reserve(ctx, &r)
	switch {
	case err != nil:
		return r, err
	case recorded != nil: // by an earlier try, or a cancellation
		return *recorded, nil
	}
	r.State = stateReserved
	if !r.allReserved() {
		r.State = stateRejected
		if err := s.releaseReserved(ctx, &r); err != nil {
			return r, err
		}
	}
	return s.recordReservation(ctx, r)
}

// newReservation is the unrecorded reservation of the order's lines, merged and sorted.
func (s *Store) newReservation(orderID string, lines []OrderLine) Reservation {
	now := s.now()
	return Reservation{OrderID: orderID, Lines: normalizeLines(lines), Created: now, Updated: now}
}

// allReserved tells whether every line of r is reserved.
func (r Reservation) allReserved() bool {
	for _, line := range r.Lines {
		if !line.Reserved {
			return false
		}
	}
	return true
}

// reserve decides every line of r with its reserve move, reserved or refused, and sets the
// lines' outcome, price and stock. If the order is recorded already, that record is returned.
func (s *Store) reserve(ctx context.Context, r *Reservation) (recorded *Reservation, err error) {
	reqs, reqLines, err := s.reserveRequests(ctx, r.OrderID, r.Lines)
	if err != nil {
		return nil, err
	}
	moves, recorded, err := s.appendDecisions(ctx, r.OrderID, reqs)
	if err != nil || recorded != nil {
		return recorded, err
	}
	for i, m := range moves {
		line := reqLines[i]
		line.Reserved, line.Stock, line.Price = m.Reason == moveReserve, m.Balance, money.Cents(m.State.Price)
		if !line.Reserved {
			line.Refusal = m.Note
		}
	}
	return nil, nil
}

// releaseReserved gives back every reserved line of r with its release move (once per line,
// whoever else releases it) and sets their stock.
func (s *Store) releaseReserved(ctx context.Context, r *Reservation) error {
	var reqs []moveRequest
	var held []*ReservedLine
	for i := range r.Lines {
		if line := &r.Lines[i]; line.Reserved {
			reqs = append(reqs, releaseRequest(r.OrderID, *line))
			held = append(held, line)
		}
	}
	moves, err := s.appendReleases(ctx, reqs)
	if err != nil {
		return err
	}
	for i, m := range moves {
		held[i].Stock = m.Balance
	}
	return nil
}

// recordReservation writes r as the order's record, unless one was written meanwhile (the same
// decision by another consumer, or a cancellation): then that record is the answer.
func (s *Store) recordReservation(ctx context.Context, r Reservation) (Reservation, error) {
	r.Updated = s.now()
	_, err := s.reservations.InsertOne(ctx, r)
	if mongox.IsDuplicate(err) {
		recorded, _, err := s.reservation(ctx, r.OrderID)
		return recorded, err
	}
	if err != nil {
		return r, mongox.Unavailable(fmt.Errorf("record reservation %s: %w", r.OrderID, err))
	}
	return r, nil
}

// appendDecisions appends the moves deciding lines of the order (see appendInTurns). A refused
// insert may mean an earlier try decided the order: if it recorded it, that record is returned.
func (s *Store) appendDecisions(ctx context.Context, orderID string, reqs []moveRequest) ([]stockMove, *Reservation, error) {
	return s.appendInTurns(ctx, reqs, func() (*Reservation, error) {
		r, found, err := s.reservation(ctx, orderID)
		if err != nil || !found {
			return nil, err
		}
		return &r, nil
	})
}

// appendReleases appends the moves giving back lines of an order (see appendInTurns).
func (s *Store) appendReleases(ctx context.Context, reqs []moveRequest) ([]stockMove, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	moves, _, err := s.appendInTurns(ctx, reqs, func() (*Reservation, error) { return nil, nil })
	return moves, err
}

// appendInTurns appends the moves reqs ask for, in their articles' turns (see takeTurns): all
// at once, then one by one those refused. Before those, recorded may end the append with the
// order's record.
func (s *Store) appendInTurns(ctx context.Context, reqs []moveRequest,
	recorded func() (*Reservation, error)) ([]stockMove, *Reservation, error) {
	give, err := s.takeTurns(ctx, reqs)
	if err != nil {
		return nil, nil, err
	}
	defer give()
	moves, refused, err := s.appendAtOnce(ctx, reqs)
	if err != nil || len(refused) == 0 {
		return moves, nil, err
	}
	if r, err := recorded(); err != nil || r != nil {
		return nil, r, err
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
