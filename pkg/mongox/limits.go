package mongox

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/semaphore"
)

// What one command, and one client, may ask of the store at once. A MongoDB-wire server has a
// pool of backend connections, and FerretDB v1's are small: 100 per database on SQLite, 40 for
// the whole server on PostgreSQL (internal/mongowire). Every command holds one while it runs,
// an update command one more per statement until the whole command ends, and a command that
// cannot get one waits without a deadline, holding what it has. So an input-sized command (an
// update of one statement per cart line) or too many commands at once wait for each other for
// ever, and the database stops for everyone. With these bounds a client holds at most
// MaxInFlight*2 + MaxBatch = 40 backend connections, the smallest pool; see docs/design.md,
// "Store limits".
const (
	// MaxBatch is the most documents, statements or $in values one command carries: every
	// bulk insert, bulk write and $in list is sent in chunks of at most this many.
	MaxBatch = 16
	// MaxInFlight is the most commands one client has in flight at once (the driver's pool of
	// connections); more wait for a turn, within their deadline.
	MaxInFlight = 12
	// MaxParallel is the most commands one operation (a request, a message, a job) sends at
	// once when it fans out, so that one of them cannot take every turn of MaxInFlight.
	MaxParallel = 4
	// CommandTimeout is every command's deadline, waiting for a turn included.
	CommandTimeout = 15 * time.Second
	// StuckAfter is how long a command may wait for its answer before the client's readiness
	// check calls the store stuck.
	StuckAfter = 10 * time.Second
)

// InsertAll inserts docs, each on its own (unordered: one failing stops no other), in commands
// of at most MaxBatch documents, and returns the indexes in docs of those refused by a unique
// index. Any other failure is returned as the error.
func InsertAll(ctx context.Context, coll *mongo.Collection, docs []any) (duplicates []int, err error) {
	offset := 0
	for chunk := range slices.Chunk(docs, MaxBatch) {
		refused, err := insertUnordered(ctx, coll, chunk)
		if err != nil {
			return nil, err
		}
		for _, i := range refused {
			duplicates = append(duplicates, offset+i)
		}
		offset += len(chunk)
	}
	return duplicates, nil
}

func insertUnordered(ctx context.Context, coll *mongo.Collection, docs []any) (duplicates []int, err error) {
	_, err = coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if err == nil || !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return nil, Unavailable(err)
	}
	for _, we := range bwe.WriteErrors {
		if we.Code != duplicateKeyCode {
			return nil, Unavailable(err)
		}
		duplicates = append(duplicates, we.Index)
	}
	return duplicates, nil
}

// InsertInOrder inserts docs in turn, in commands of at most MaxBatch documents, and stops at
// the first one refused: what is stored is always the first few, never one after a gap. Its
// error is the insert's (IsDuplicate tells a unique index refused it).
func InsertInOrder(ctx context.Context, coll *mongo.Collection, docs []any) error {
	for chunk := range slices.Chunk(docs, MaxBatch) {
		if _, err := coll.InsertMany(ctx, chunk, options.InsertMany().SetOrdered(true)); err != nil {
			return err
		}
	}
	return nil
}

// FindIn returns the documents of coll whose field is one of values, asking for at most
// MaxBatch values per command.
func FindIn[T any](ctx context.Context, coll *mongo.Collection, field string, values []any, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	var found []T
	for chunk := range slices.Chunk(values, MaxBatch) {
		cur, err := coll.Find(ctx, bson.D{{Key: field, Value: bson.D{{Key: "$in", Value: chunk}}}}, opts...)
		if err != nil {
			return nil, Unavailable(err)
		}
		var docs []T
		if err := cur.All(ctx, &docs); err != nil {
			return nil, Unavailable(err)
		}
		found = append(found, docs...)
	}
	return found, nil
}

// DeleteIDs deletes the documents of coll whose _id is one of ids, at most MaxBatch per
// command, and returns how many it deleted.
func DeleteIDs[T any](ctx context.Context, coll *mongo.Collection, ids []T) (int, error) {
	deleted := 0
	for chunk := range slices.Chunk(ids, MaxBatch) {
		res, err := coll.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: chunk}}}})
		if err != nil {
			return deleted, Unavailable(err)
		}
		deleted += int(res.DeletedCount)
	}
	return deleted, nil
}

// BulkWriter sends bulk writes in commands of at most MaxBatch statements, with at most
// MaxBatch statements in flight for all the writes that share it: a bulk update holds a backend
// connection per statement (see the limits above), so a client's bulk commands hold at most
// MaxBatch of them, plus one each. Make one with NewBulkWriter per client.
type BulkWriter struct {
	statements *semaphore.Weighted
}

// NewBulkWriter returns a BulkWriter for the writes of one client.
func NewBulkWriter() *BulkWriter { return &BulkWriter{statements: semaphore.NewWeighted(MaxBatch)} }

// Write applies models to coll, unordered within each command, and returns the first error.
func (w *BulkWriter) Write(ctx context.Context, coll *mongo.Collection, models []mongo.WriteModel) error {
	for chunk := range slices.Chunk(models, MaxBatch) {
		if err := w.writeChunk(ctx, coll, chunk); err != nil {
			return err
		}
	}
	return nil
}

func (w *BulkWriter) writeChunk(ctx context.Context, coll *mongo.Collection, models []mongo.WriteModel) error {
	if err := w.statements.Acquire(ctx, int64(len(models))); err != nil {
		return Unavailable(err)
	}
	defer w.statements.Release(int64(len(models)))
	_, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	return Unavailable(err)
}

// inFlight knows when each command in flight was sent.
type inFlight struct {
	now     func() time.Time
	mu      sync.Mutex
	started map[int64]time.Time // by request id
}

func newInFlight(now func() time.Time) *inFlight {
	return &inFlight{now: now, started: map[int64]time.Time{}}
}

func (f *inFlight) start(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started[id] = f.now()
}

func (f *inFlight) end(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.started, id)
}

// oldest returns how long the oldest command in flight has waited (0 when none).
func (f *inFlight) oldest() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var longest time.Duration
	now := f.now()
	for _, at := range f.started {
		longest = max(longest, now.Sub(at))
	}
	return longest
}
