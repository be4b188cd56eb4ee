package orders

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// The work list of the status jobs. A job that read every order of its status would scan the
// whole history on a MongoDB-wire server that indexes only exact _id lookups (FerretDB on
// SQLite, docs/mongo-wire.md). So the write path tells the jobs which orders to look at:
//
//	status_work   {_id: orderId, status, at}   the orders a status job must look at
//	store_marks   {_id: name, at}              one-time steps of this store that are done
//
// An order is in the work list from its placed event for as long as it is placed (the placed
// job repairs it if it gets stuck) and until a job sees it leave placed and copies that into
// Order_Status: the change that validates or invalidates it does not list it again. After
// that, each change a client sees (a payment, a late answer on an invalid order) lists it
// until a job has copied that change into Order_Status. A job reads the entries of its
// status — a scan of the work list, which holds the open and the recently changed orders
// only, never the finished history — and then each order by _id. Who writes an entry:
// changeFrom (after appending the placed event, or a change of an order that had left placed,
// before projecting it), any repair of an order left behind (a writer that stopped in
// between), the seeding of a store written before the list existed, and a job that finds an
// order moved on while it was dropping its entry.

// workDoc is one entry of the work list: the order's status when it was added, which says
// which job looks at it (any job handles any order correctly: it reads the order itself).
type workDoc struct {
	OrderID string    `bson:"_id"`
	Status  Status    `bson:"status"`
	At      time.Time `bson:"at"`
}

// markStatusWork names the one-time seeding of the work list.
const markStatusWork = "status_work_seeded"

// AddWork puts the order on the work list under status (an upsert: adding twice is one entry).
func (s *Store) AddWork(ctx context.Context, orderID string, status Status, at time.Time) error {
	_, err := s.work.ReplaceOne(ctx, bson.D{{Key: "_id", Value: orderID}},
		workDoc{OrderID: orderID, Status: status, At: at}, options.Replace().SetUpsert(true))
	if mongox.IsDuplicate(err) {
		return nil // a concurrent upsert of the same entry won: it is on the list
	}
	return mongox.Unavailable(err)
}

// DropWork takes the order off the work list.
func (s *Store) DropWork(ctx context.Context, orderID string) error {
	_, err := s.work.DeleteOne(ctx, bson.D{{Key: "_id", Value: orderID}})
	return mongox.Unavailable(err)
}

// WorkWithStatus returns the ids of the orders on the work list under status, oldest first.
func (s *Store) WorkWithStatus(ctx context.Context, status Status) ([]string, error) {
	cur, err := s.work.Find(ctx, bson.D{{Key: "status", Value: string(status)}},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, mongox.Unavailable(err)
	}
	var docs []workDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Unavailable(err)
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.OrderID
	}
	return ids, nil
}

// ensureStatusWork declares the index of the work list and, once per store, fills it from a
// store written before it existed (it reads every order and every Order_Status entry once):
// the placed orders, and those whose Order_Status entry is missing or behind. The mark is
// written last, so a start interrupted half way seeds again (adding twice is harmless).
func (s *Store) ensureStatusWork(ctx context.Context) error {
	err := mongox.EnsureIndexes(ctx, s.work, mongo.IndexModel{
		Keys: bson.D{{Key: "status", Value: 1}, {Key: "at", Value: 1}}, Options: options.Index().SetName("status_at"),
	})
	if err != nil {
		return mongox.Unavailable(err)
	}
	err = s.marks.FindOne(ctx, bson.D{{Key: "_id", Value: markStatusWork}}).Err()
	if err == nil {
		return nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return mongox.Unavailable(err)
	}
	orders, err := s.findOrders(ctx, bson.D{}, options.Find())
	if err != nil {
		return err
	}
	known, err := s.allStatuses(ctx)
	if err != nil {
		return err
	}
	for _, o := range orders {
		if old, ok := known[o.ID]; o.Status != StatusPlaced && ok && old.Status == o.Status && old.Updated.Equal(o.Updated) {
			continue
		}
		if err := s.AddWork(ctx, o.ID, o.Status, o.Updated); err != nil {
			return err
		}
	}
	_, err = s.marks.InsertOne(ctx, bson.D{{Key: "_id", Value: markStatusWork}, {Key: "at", Value: time.Now().UTC()}})
	if mongox.IsDuplicate(err) {
		return nil // another instance seeded at the same time
	}
	return mongox.Unavailable(err)
}

// allStatuses returns every Order_Status entry, by order id (for the one-time seeding only).
func (s *Store) allStatuses(ctx context.Context) (map[string]OrderStatus, error) {
	cur, err := s.statuses.Find(ctx, bson.D{})
	if err != nil {
		return nil, mongox.Unavailable(err)
	}
	var list []OrderStatus
	if err := cur.All(ctx, &list); err != nil {
		return nil, mongox.Unavailable(err)
	}
	byID := make(map[string]OrderStatus, len(list))
	for _, st := range list {
		st.Updated = st.Updated.UTC()
		byID[st.OrderID] = st
	}
	return byID, nil
}
