package orders

import (
	"context"
	"errors"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// No hoarding (SPEC §3.5, ORDERS_MAX_UNPAID): a user holds at most N orders that are Unpaid.
// "At most N" cannot rest on a count and a conditional write, so each user has N slots under
// deterministic ids, and an order takes one by inserting it:
//
//	unpaid_slots  {_id: "<userId>/<k>", userId, orderId}   k = 0…N-1
//
// The slot taken is recorded in the placed event (Placed.UnpaidSlot); an order that finds none
// free is placed and rejected in one insert. Who gives a slot back: docs/design.md.

// maxUnpaidLimit bounds ORDERS_MAX_UNPAID: a claim tries every slot.
const maxUnpaidLimit = 100

type unpaidSlotDoc struct {
	ID      string `bson:"_id"`
	UserID  string `bson:"userId"`
	OrderID string `bson:"orderId"`
}

func unpaidSlotID(userID string, k int) string { return userID + "/" + strconv.Itoa(k) }

// ClaimUnpaid takes a free slot of the user's n for the order, or finds the one it took before,
// and returns its number from 1, or 0 when all n are held by other orders. One insert when the
// user holds no unpaid order.
func (s *Store) ClaimUnpaid(ctx context.Context, userID, orderID string, n int) (int, error) {
	for k := 0; k < n; k++ {
		id := unpaidSlotID(userID, k)
		_, err := s.unpaid.InsertOne(ctx, unpaidSlotDoc{ID: id, UserID: userID, OrderID: orderID})
		if err == nil {
			return k + 1, nil
		}
		if !mongox.IsDuplicate(err) {
			return 0, mongox.Unavailable(err)
		}
		holder, found, err := s.unpaidHolder(ctx, id)
		if err != nil {
			return 0, err
		}
		if found && holder == orderID {
			return k + 1, nil
		}
		if !found { // given back meanwhile: try it again
			k--
			continue
		}
	}
	return 0, nil
}

// unpaidHolder returns the order holding slot id, if it is held.
func (s *Store) unpaidHolder(ctx context.Context, id string) (string, bool, error) {
	var d unpaidSlotDoc
	err := s.unpaid.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", false, nil
	}
	if err != nil {
		return "", false, mongox.Unavailable(err)
	}
	return d.OrderID, true, nil
}

// ReleaseUnpaid gives back slot (from 1) of the user if the order holds it: a read and a delete,
// both by _id. (Between them, only the same order's own release can delete the slot, and only
// after that can another order claim it: a window of one round trip in which two releases of one
// order could free a newer claim too, letting that user hold one order more.)
func (s *Store) ReleaseUnpaid(ctx context.Context, userID, orderID string, slot int) error {
	if slot <= 0 {
		return nil
	}
	id := unpaidSlotID(userID, slot-1)
	holder, found, err := s.unpaidHolder(ctx, id)
	if err != nil || !found || holder != orderID {
		return err
	}
	_, err = s.unpaid.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	return mongox.Unavailable(err)
}

// releaseUnpaid gives back o's slot once o no longer counts as unpaid.
func (s *Service) releaseUnpaid(ctx context.Context, o Order) error {
	if o.UnpaidSlot == 0 || o.Unpaid() {
		return nil
	}
	return s.store.ReleaseUnpaid(ctx, o.UserID, o.ID, o.UnpaidSlot)
}
