package auth

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// counter is one rate limit as the store counts it: at most limit events per key in each
// fixed window of the given length (windows start on multiples of it, the same for every
// instance). Its name is the first part of its slots' ids.
type counter struct {
	name   string
	limit  int
	window time.Duration
}

// limitStore keeps the counts of the rate limits, and the addresses each login is familiar
// with, in auth's MongoDB database: every auth instance sees them, so N instances allow
// together exactly what one allows. (In the store rather than in Redis because auth has no
// Redis: one store to run, back up and secure, and its one-digit-millisecond round trips are
// small beside a bcrypt comparison.)
//
// A count is built on the unique _id index, never on a conditional $inc (not atomic on
// FerretDB, see docs/mongo-wire.md): each counted event inserts the document of a slot
// "<counter>/<window start>/<n>/<key>" with n from 1 to the limit, the first that is free.
// The unique index lets one insert win each slot, so a window holds at most limit events
// however many instances race for them. Every lookup is by exact _id, the only kind
// FerretDB answers without reading the whole collection.
//
// Documents of finished windows and familiar addresses past their time are deleted by
// cleaner (MongoDB-wire servers have no TTL indexes).
type limitStore struct {
	slots *mongo.Collection
	known *mongo.Collection

	// next caches, per counter, window and key, the first slot not known to be taken: each
	// instance learns from its own inserts and from duplicates, so a take usually costs one
	// insert, and a full window is refused without a round trip. It only saves work: a lost
	// entry costs a few inserts that fail as duplicates. It may be stale one way only: a slot
	// released on another instance stays unused here until the window ends (stricter, never
	// looser).
	mu   sync.Mutex
	next map[string]slotHint
}

type slotHint struct {
	n     int
	until time.Time // the end of its window
}

// maxSlotHints bounds the memory of limitStore.next.
const maxSlotHints = 100_000

// slotDoc is one counted event. Expires is the end of its window.
type slotDoc struct {
	ID      string    `bson:"_id"`
	Expires time.Time `bson:"expires"`
}

// familiarDoc says that login (the key, last in the id) signed in from an address until Until.
type familiarDoc struct {
	ID    string    `bson:"_id"`
	Until time.Time `bson:"until"`
}

// newLimitStore returns the limit store in store's database (none when store is nil, for a
// server that only lists its routes).
func newLimitStore(store *Store) *limitStore {
	s := &limitStore{next: map[string]slotHint{}}
	if store != nil {
		db := store.users.Database()
		s.slots, s.known = db.Collection("limitSlots"), db.Collection("familiarAddresses")
	}
	return s
}

// take counts one event for key in c's current window: it returns the id of the slot it took,
// or, when the window is full, a refusal to retry when the window ends.
func (s *limitStore) take(ctx context.Context, c counter, key string, now time.Time) (string, *refusal, error) {
	start := now.Truncate(c.window)
	end := start.Add(c.window)
	prefix := c.name + "/" + strconv.FormatInt(start.Unix(), 10) + "/"
	n := s.hint(prefix+key, now)
	for ; n <= c.limit; n++ {
		id := prefix + strconv.Itoa(n) + "/" + key
		_, err := s.slots.InsertOne(ctx, slotDoc{ID: id, Expires: end})
		if err == nil {
			s.setHint(prefix+key, n+1, end, now)
			return id, nil, nil
		}
		if !mongox.IsDuplicate(err) {
			return "", nil, mongox.Unavailable(err)
		}
	}
	s.setHint(prefix+key, n, end, now)
	return "", &refusal{retryAfter: end.Sub(now)}, nil
}

// full tells, without counting, whether key's current window of c is full: the refusal
// take would give, or nil. It is exact only for a counter whose slots are never released
// (its taken slots are then always 1 to n, so the window is full when slot limit is taken).
func (s *limitStore) full(ctx context.Context, c counter, key string, now time.Time) (*refusal, error) {
	start := now.Truncate(c.window)
	end := start.Add(c.window)
	prefix := c.name + "/" + strconv.FormatInt(start.Unix(), 10) + "/"
	refused := &refusal{retryAfter: end.Sub(now)}
	if s.hint(prefix+key, now) > c.limit {
		return refused, nil
	}
	err := s.slots.FindOne(ctx, bson.D{{Key: "_id", Value: prefix + strconv.Itoa(c.limit) + "/" + key}}).Err()
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return nil, nil
	case err != nil:
		return nil, mongox.Unavailable(err)
	}
	s.setHint(prefix+key, c.limit+1, end, now)
	return refused, nil
}

// release gives a slot back: the event it counted is not to be counted after all.
func (s *limitStore) release(ctx context.Context, slot string) error {
	if slot == "" {
		return nil
	}
	if _, err := s.slots.DeleteOne(ctx, bson.D{{Key: "_id", Value: slot}}); err != nil {
		return mongox.Unavailable(err)
	}
	// "<counter>/<start>/<n>/<key>": the next take here may use the slot again.
	parts := strings.SplitN(slot, "/", 4)
	if n, err := strconv.Atoi(parts[2]); err == nil && len(parts) == 4 {
		s.mu.Lock()
		hintKey := parts[0] + "/" + parts[1] + "/" + parts[3]
		if h, ok := s.next[hintKey]; ok && h.n > n {
			h.n = n
			s.next[hintKey] = h
		}
		s.mu.Unlock()
	}
	return nil
}

func (s *limitStore) hint(key string, now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.next[key]; ok && now.Before(h.until) {
		return h.n
	}
	return 1
}

func (s *limitStore) setHint(key string, n int, until, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.next[key]; !ok && len(s.next) >= maxSlotHints {
		for k, h := range s.next {
			if !now.Before(h.until) {
				delete(s.next, k)
			}
		}
		if len(s.next) >= maxSlotHints {
			clear(s.next) // a flood of live keys: forgetting costs only duplicate inserts
		}
	}
	s.next[key] = slotHint{n: n, until: until}
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

// cleanUpBatch is how many documents one round of cleanUp deletes.
const cleanUpBatch = 500

// cleanUp deletes the slots of finished windows and the familiar addresses past their time, a
// batch at a time, until none is left or ctx is done. It returns how many it deleted.
func (s *limitStore) cleanUp(ctx context.Context, now time.Time) (int, error) {
	deleted := 0
	for _, c := range []struct {
		coll  *mongo.Collection
		field string
	}{{s.slots, "expires"}, {s.known, "until"}} {
		for {
			cur, err := c.coll.Find(ctx, bson.D{{Key: c.field, Value: bson.D{{Key: "$lte", Value: now}}}},
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
			if len(docs) == 0 {
				break
			}
			ids := make([]string, len(docs))
			for i, d := range docs {
				ids[i] = d.ID
			}
			n, err := mongox.DeleteIDs(ctx, c.coll, ids)
			deleted += n
			if err != nil {
				return deleted, err
			}
			if len(docs) < cleanUpBatch {
				break
			}
		}
	}
	return deleted, nil
}

// limitsCleaner is the background job that runs cleanUp every interval, each run within its
// deadline (app.Every). Between runs, finished windows stay in the store; nothing reads them (a
// window's slots are named by its start).
func limitsCleaner(store *Store, log *slog.Logger, now func() time.Time, every time.Duration) app.Worker {
	s := newLimitStore(store)
	clean := app.Every(log, "rate limit cleanup", every, func(ctx context.Context) error {
		n, err := s.cleanUp(ctx, now())
		if n > 0 {
			log.DebugContext(ctx, "rate limit cleanup", "deleted", n)
		}
		return err
	})
	return func(ctx context.Context) error {
		// For real MongoDB: the cleanup's filters use these (FerretDB scans either way).
		for _, c := range []struct {
			coll  *mongo.Collection
			field string
		}{{s.slots, "expires"}, {s.known, "until"}} {
			if err := mongox.EnsureIndexes(ctx, c.coll, mongo.IndexModel{Keys: bson.D{{Key: c.field, Value: 1}}}); err != nil {
				log.WarnContext(ctx, "rate limit cleanup: index not created", "err", err)
			}
		}
		return clean(ctx)
	}
}
