package mongox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// TestEnsureIndexesTwice is what every service does at each start: declaring the same indexes
// again must work (FerretDB once dropped the connection on a repeated multi-index command).
func TestEnsureIndexesTwice(t *testing.T) {
	db := testkit.Mongo(t)
	coll := db.Collection("things")
	ctx := context.Background()
	models := []mongo.IndexModel{
		{Keys: bson.D{{Key: "key", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "owner", Value: 1}, {Key: "at", Value: -1}}},
	}
	require.NoError(t, mongox.EnsureIndexes(ctx, coll, models...))
	require.NoError(t, mongox.EnsureIndexes(ctx, coll, models...))

	_, err := coll.InsertOne(ctx, bson.M{"key": "a"})
	require.NoError(t, err)
	_, err = coll.InsertOne(ctx, bson.M{"key": "a"})
	assert.True(t, mongox.IsDuplicate(err), "unique index must refuse a second key: %v", err)
	_, err = coll.InsertOne(ctx, bson.M{"key": "b"})
	assert.False(t, mongox.IsDuplicate(err))
}

func TestNotFound(t *testing.T) {
	db := testkit.Mongo(t)
	err := db.Collection("things").FindOne(context.Background(), bson.M{"_id": "nope"}).Err()
	assert.ErrorIs(t, mongox.NotFound(err, "thing nope"), errs.NotFound)
	assert.Contains(t, mongox.NotFound(err, "thing nope").Error(), "thing nope")
}

func TestConnectUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := mongox.Connect(ctx, "mongodb://127.0.0.1:1/")
	assert.Error(t, err)
}

func TestRetryOnConflict(t *testing.T) {
	ctx := context.Background()
	calls := 0
	v, err := mongox.RetryOnConflict(ctx, func() (int, error) {
		calls++
		if calls < 3 {
			return 0, fmt.Errorf("version 7: %w", mongox.ErrLostRace)
		}
		return 42, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 42, v)
	assert.Equal(t, 3, calls, "tried again after each lost race")

	calls = 0
	_, err = mongox.RetryOnConflict(ctx, func() (int, error) { calls++; return 0, errs.Unavailable })
	assert.ErrorIs(t, err, errs.Unavailable, "other errors end the retries at once")
	assert.Equal(t, 1, calls)

	_, err = mongox.RetryOnConflict(ctx, func() (int, error) { return 0, mongox.ErrLostRace })
	assert.ErrorIs(t, err, mongox.ErrBusy, "always losing gives up")
	assert.ErrorIs(t, err, errs.Conflict)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = mongox.RetryOnConflict(cancelled, func() (int, error) { return 0, mongox.ErrLostRace })
	assert.ErrorIs(t, err, errs.Unavailable, "a context that ends stops the retries")
}

// A store that answers but cannot serve (FerretDB's InternalError when its PostgreSQL refuses
// connections, seen in e2e TestFaults) is unavailable, 503; a command error is not.
func TestUnavailableServerErrors(t *testing.T) {
	down := mongo.CommandError{Code: 1, Name: "InternalError", Message: "too many clients already"}
	assert.ErrorIs(t, mongox.Unavailable(down), errs.Unavailable)
	bad := mongo.CommandError{Code: 2, Name: "BadValue"}
	assert.NotErrorIs(t, mongox.Unavailable(bad), errs.Unavailable)
	assert.Equal(t, error(bad), mongox.Unavailable(bad))
}

// Inputs of any size go to the store in commands of at most MaxBatch documents, statements or
// $in values, and every helper keeps the meaning of one command: InsertAll's indexes of the
// documents refused, InsertInOrder's stop at the first refused, FindIn's documents.
func TestBatchedCommands(t *testing.T) {
	db, trips := testkit.CountingMongo(t)
	ctx := context.Background()
	coll := db.Collection("things")
	n := 3*mongox.MaxBatch + 5
	docs := make([]any, n)
	ids := make([]any, n)
	for i := range docs {
		docs[i] = bson.M{"_id": fmt.Sprint(i), "v": i}
		ids[i] = fmt.Sprint(i)
	}
	_, err := coll.InsertOne(ctx, bson.M{"_id": fmt.Sprint(mongox.MaxBatch + 1)})
	require.NoError(t, err)

	var refused []int
	cost := trips.During(func() { refused, err = mongox.InsertAll(ctx, coll, docs) })
	require.NoError(t, err)
	assert.Equal(t, []int{mongox.MaxBatch + 1}, refused, "the index in docs of the one already stored")
	assert.Equal(t, int64(4), cost, "one insert per MaxBatch documents")

	type doc struct {
		ID string `bson:"_id"`
	}
	var found []doc
	cost = trips.During(func() { found, err = mongox.FindIn[doc](ctx, coll, "_id", ids) })
	require.NoError(t, err)
	assert.Len(t, found, n)
	assert.Equal(t, int64(4), cost, "one find per MaxBatch values")

	ordered := db.Collection("ordered")
	_, err = ordered.InsertOne(ctx, bson.M{"_id": fmt.Sprint(mongox.MaxBatch + 2)})
	require.NoError(t, err)
	err = mongox.InsertInOrder(ctx, ordered, docs)
	assert.True(t, mongox.IsDuplicate(err), "%v", err)
	count, err := ordered.CountDocuments(ctx, bson.M{})
	require.NoError(t, err)
	assert.Equal(t, int64(mongox.MaxBatch+2+1), count, "the documents before the refused one, and the one already there")

	writes := make([]mongo.WriteModel, n)
	for i := range writes {
		writes[i] = mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": fmt.Sprint(i)}).
			SetReplacement(bson.M{"_id": fmt.Sprint(i), "v": -i}).SetUpsert(true)
	}
	cost = trips.During(func() { err = mongox.NewBulkWriter().Write(ctx, coll, writes) })
	require.NoError(t, err)
	assert.Equal(t, int64(4), cost, "one bulk write per MaxBatch statements")
	var last struct{ V int }
	require.NoError(t, coll.FindOne(ctx, bson.M{"_id": fmt.Sprint(n - 1)}).Decode(&last))
	assert.Equal(t, -(n - 1), last.V)
}
