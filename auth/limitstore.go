package auth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/quota"
)

// limitStore keeps the counts of the rate limits, and the addresses each login is familiar
// with, in auth's MongoDB database: every auth instance sees them, so N instances allow
// together exactly what one allows. (In the store rather than in Redis because auth has no
// Redis: one store to run, back up and secure, and its one-digit-millisecond round trips are
// small beside a bcrypt comparison.) The counts are quota.Slots: one document per counted
// event under a unique _id, never a conditional $inc (not atomic on FerretDB, see
// docs/mongo-wire.md). Every lookup is by exact _id, the only kind FerretDB answers without
// reading the whole collection. Finished windows and familiar addresses past their time are
// deleted by limitsCleaner (MongoDB-wire servers have no TTL indexes).
type limitStore struct {
	counts *quota.Slots
	known  *mongo.Collection
}

// familiarDoc says that login (the key, last in the id) signed in from an address until Until.
type familiarDoc struct {
	ID    string    `bson:"_id"`
	Until time.Time `bson:"until"`
}

// newLimitStore returns the limit store in store's database, counting windows by now (none
// when store is nil, for a server that only lists its routes).
func newLimitStore(store *Store, now func() time.Time) *limitStore {
	if now == nil {
		now = time.Now
	}
	s := &limitStore{}
	if store != nil {
		db := store.users.Database()
		s.counts, s.known = quota.NewSlots(db.Collection("limitSlots"), now), db.Collection("familiarAddresses")
	}
	return s
}

// take counts one event for key against l: the slot it took, or, when the window is full, a
// refusal to retry when the window ends.
func (s *limitStore) take(ctx context.Context, l quota.Limit, key string) (string, *refusal, error) {
	slot, err := s.counts.TakeSlot(ctx, key, l)
	ref, err := refusalOf(err)
	return slot, ref, err
}

// full tells, without counting, whether key's window of l is full (see quota.Slots.Full).
func (s *limitStore) full(ctx context.Context, l quota.Limit, key string) (*refusal, error) {
	return refusalOf(s.counts.Full(ctx, key, l))
}

// release gives a slot back: the event it counted is not to be counted after all.
func (s *limitStore) release(ctx context.Context, slot string) error {
	return s.counts.Release(ctx, slot)
}

// refusalOf turns a quota's refusal into the rate limits' (nil for none); other errors pass.
func refusalOf(err error) (*refusal, error) {
	var e *errs.Error
	if errors.As(err, &e) && errors.Is(err, errs.RateLimited) {
		return &refusal{retryAfter: e.RetryAfter}, nil
	}
	return nil, err
}

func familiarID(login, address string) string { return address + " " + login }

// familiar tells whether login signed in (or up) from address within its KnownFor.
func (s *limitStore) familiar(ctx context.Context, login, address string, now time.Time) (bool, error) {
	var doc familiarDoc
	err := s.known.FindOne(ctx, bson.D{{Key: "_id", Value: familiarID(login, address)}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, mongox.Unavailable(err)
	}
	return now.Before(doc.Until), nil
}

// remember makes address familiar to login for knownFor from now.
func (s *limitStore) remember(ctx context.Context, login, address string, now time.Time, knownFor time.Duration) error {
	id := familiarID(login, address)
	_, err := s.known.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}},
		familiarDoc{ID: id, Until: now.Add(knownFor)}, options.Replace().SetUpsert(true))
	if mongox.IsDuplicate(err) {
		return nil // a concurrent sign-in from the same address remembered it
	}
	return mongox.Unavailable(err)
}

// cleanUpBatch is how many familiar addresses one round of cleanUp deletes.
const cleanUpBatch = 500

// cleanUp deletes the slots of finished windows and the familiar addresses past their time
// (as of now), a batch at a time, until none is left or ctx is done. It returns how many it
// deleted.
func (s *limitStore) cleanUp(ctx context.Context, now time.Time) (int, error) {
	deleted, err := s.counts.Sweep(ctx)
	if err != nil {
		return deleted, err
	}
	for {
		cur, err := s.known.Find(ctx, bson.D{{Key: "until", Value: bson.D{{Key: "$lte", Value: now}}}},
			options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetLimit(cleanUpBatch))
		if err != nil {
			return deleted, mongox.Unavailable(err)
		}
		var docs []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(ctx, &docs); err != nil {
			return deleted, mongox.Unavailable(err)
		}
		ids := make([]string, len(docs))
		for i, d := range docs {
			ids[i] = d.ID
		}
		n, err := mongox.DeleteIDs(ctx, s.known, ids)
		deleted += n
		if err != nil || len(docs) < cleanUpBatch {
			return deleted, err
		}
	}
}

// limitsCleaner is the background job that runs cleanUp every interval, each run within its
// deadline (app.Every). Between runs, finished windows stay in the store; nothing reads them (a
// window's slots are named by its start).
func limitsCleaner(store *Store, log *slog.Logger, now func() time.Time, every time.Duration) app.Worker {
	s := newLimitStore(store, now)
	clean := app.Every(log, "rate limit cleanup", every, func(ctx context.Context) error {
		n, err := s.cleanUp(ctx, now())
		if n > 0 {
			log.DebugContext(ctx, "rate limit cleanup", "deleted", n)
		}
		return err
	})
	return func(ctx context.Context) error {
		// For real MongoDB: the cleanup's filters use these (FerretDB scans either way).
		err := s.counts.EnsureIndexes(ctx)
		if err == nil {
			err = mongox.EnsureIndexes(ctx, s.known, mongo.IndexModel{Keys: bson.D{{Key: "until", Value: 1}}})
		}
		if err != nil {
			log.WarnContext(ctx, "rate limit cleanup: index not created", "err", err)
		}
		return clean(ctx)
	}
}
