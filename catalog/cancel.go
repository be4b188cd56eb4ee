package catalog

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// Returning the stock of a cancelled order (SPEC §4, order_cancelled): exactly once per order,
// whether the cancellation comes before, during or after the reservation, however often either
// message comes, on any instance. It rests on the same unique move keys as reserving (reserve.go):
//
//   - The order's record says reserved: each of its lines is given back by a "release" move with
//     the key "<order>/<article>/release" — the key the reservation's own rollback uses — so a
//     line comes back at most once whoever releases it, and however often.
//   - No record yet (the reservation has not come, or is under way on another instance): the
//     cancellation decides every line first, with a "refuse" move (delta 0, "order cancelled")
//     under the line's reserve key "<order>/<article>/reserve". A reservation coming later finds
//     its keys taken and reserves nothing (its lines refused, it records the order rejected); a
//     reservation under way that took a key first wins that line, and the cancellation then
//     releases it (and the reservation's rollback may too: the release key makes it once).
//   - Then the record is written "cancelled", so a repeated order_cancelled or order_placed only
//     reads it. A record rejected holds nothing (its rollback released before writing it).
//
// Both append in the turns of the order's articles (appendOrderMoves), like every move of this
// instance.

// stateCancelled: the order was cancelled; nothing of it is held.
const stateCancelled = "cancelled"

// refusedCancelled is why a line of a cancelled order was not reserved.
const refusedCancelled = "order cancelled"

// CancelOrder returns the stock held for the order to the ledger and makes sure no reservation
// of it takes any afterwards. lines are the order's lines, used when catalog has no record of
// the order yet. It is idempotent.
func (s *Store) CancelOrder(ctx context.Context, orderID string, lines []OrderLine) (Reservation, error) {
	if orderID == "" {
		return Reservation{}, errs.Newf(errs.Invalid, "order without id")
	}
	r, found, err := s.reservation(ctx, orderID)
	switch {
	case err != nil:
		return r, err
	case found && (r.State == stateCancelled || r.State == stateRejected):
		return r, nil // nothing held
	case found && r.State == stateReserved:
		return s.releaseReserved(ctx, r)
	}
	now := time.Now().UTC()
	r = Reservation{OrderID: orderID, Lines: normalizeLines(lines), Created: now, Updated: now}
	reqs, reqLines, err := s.reserveRequests(ctx, orderID, r.Lines)
	if err != nil {
		return r, err
	}
	for i := range reqs {
		reqs[i].decide = func(int64, sellState) (int64, string, string) { return 0, moveRefuse, refusedCancelled }
	}
	moves, done, err := s.appendOrderMoves(ctx, orderID, reqs)
	switch {
	case err != nil:
		return r, err
	case done != nil: // the reservation recorded the order meanwhile
		if done.State == stateReserved {
			return s.releaseReserved(ctx, *done)
		}
		if done.State == stateCancelled || done.State == stateRejected {
			return *done, nil
		}
	}
	for i, m := range moves {
		reqLines[i].Reserved, reqLines[i].Stock = m.Reason == moveReserve, m.Balance
		if m.Note != "" {
			reqLines[i].Refusal = m.Note
		}
	}
	return s.releaseReserved(ctx, r)
}

// releaseReserved gives back every reserved line of r (release keys: once per line, whoever
// else releases it) and records the order cancelled.
func (s *Store) releaseReserved(ctx context.Context, r Reservation) (Reservation, error) {
	var reqs []moveRequest
	var held []*ReservedLine
	for i := range r.Lines {
		if line := &r.Lines[i]; line.Reserved {
			reqs = append(reqs, releaseRequest(r.OrderID, *line))
			held = append(held, line)
		}
	}
	if len(reqs) > 0 {
		moves, _, err := s.appendOrderMoves(ctx, "", reqs)
		if err != nil {
			return r, err
		}
		for i, m := range moves {
			held[i].Stock = m.Balance
		}
	}
	for i := range r.Lines {
		r.Lines[i].Reserved, r.Lines[i].Refusal = false, refusedCancelled
	}
	r.State, r.Updated = stateCancelled, time.Now().UTC()
	_, err := s.reservations.ReplaceOne(ctx, bson.M{"_id": r.OrderID}, r, options.Replace().SetUpsert(true))
	if err != nil && !mongox.IsDuplicate(err) {
		return r, mongox.Unavailable(fmt.Errorf("record cancellation %s: %w", r.OrderID, err))
	}
	return r, nil
}
