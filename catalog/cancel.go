package catalog

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// Returning the stock of a cancelled order (SPEC §4, order_cancelled): exactly once per order,
// whether it comes before, during or after the reservation (docs/design.md, "Reservations").
// Without a record, every line is first decided by a refuse move under its reserve key, so a
// reservation coming later takes nothing; then reserved lines are released under their release
// keys, and the order is recorded cancelled.

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
	case found && r.State != stateReserved:
		return r, nil // cancelled or rejected: nothing held
	case !found:
		r = s.newReservation(orderID, lines)
		recorded, err := s.refuseLines(ctx, &r)
		switch {
		case err != nil:
			return r, err
		case recorded != nil && recorded.State != stateReserved:
			return *recorded, nil
		case recorded != nil: // the reservation recorded the order meanwhile
			r = *recorded
		}
	}
	return s.recordCancelled(ctx, r)
}

// refuseLines decides every line of r with a refuse move under its reserve key. A line that a
// reservation under way decided first keeps its outcome (r says it is reserved). If the order
// is recorded meanwhile, that record is returned.
func (s *Store) refuseLines(ctx context.Context, r *Reservation) (recorded *Reservation, err error) {
	reqs, reqLines, err := s.reserveRequests(ctx, r.OrderID, r.Lines)
	if err != nil {
		return nil, err
	}
	for i := range reqs {
		reqs[i].decide = func(int64, sellState) (int64, string, string) { return 0, moveRefuse, refusedCancelled }
	}
	moves, recorded, err := s.appendDecisions(ctx, r.OrderID, reqs)
	if err != nil || recorded != nil {
		return recorded, err
	}
	for i, m := range moves {
		reqLines[i].Reserved, reqLines[i].Stock = m.Reason == moveReserve, m.Balance
		if m.Note != "" {
			reqLines[i].Refusal = m.Note
		}
	}
	return nil, nil
}

// recordCancelled gives back every reserved line of r and records the order cancelled.
func (s *Store) recordCancelled(ctx context.Context, r Reservation) (Reservation, error) {
	if err := s.releaseReserved(ctx, &r); err != nil {
		return r, err
	}
	for i := range r.Lines {
		r.Lines[i].Reserved, r.Lines[i].Refusal = false, refusedCancelled
	}
	r.State, r.Updated = stateCancelled, s.now()
	_, err := s.reservations.ReplaceOne(ctx, bson.M{"_id": r.OrderID}, r, options.Replace().SetUpsert(true))
	if err != nil && !mongox.IsDuplicate(err) {
		return r, mongox.Unavailable(fmt.Errorf("record cancellation %s: %w", r.OrderID, err))
	}
	return r, nil
}
