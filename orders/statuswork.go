package orders

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// The work list of the status jobs, so that no job reads every order of its status (a scan of
// the whole history on FerretDB/SQLite):
//
//	status_work   {_id: orderId, status, at}   the orders a status job must look at
//
// An order is on the list from its placed event while it is placed, and after each change a
// client sees until a job has copied that change into Order_Status. Who adds and who drops an
// entry, and why nothing is lost between them: docs/design.md.

// workDoc is one entry of the work list: the order's status when it was added, which says
// which job looks at it (any job handles any order correctly: it reads the order itself).
type workDoc struct {
	OrderID string    `bson:"_id"`
	Status  Status    `bson:"status"`
	At      time.Time `bson:"at"`
}

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
