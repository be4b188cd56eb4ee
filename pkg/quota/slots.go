package quota

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// Sweep bounds: a run removes at most sweepBatches batches of sweepBatch slots.
const (
	sweepBatch   = 500
	sweepBatches = 20
)

// maxKnown bounds the memory of a Slots' record of the slots it knows taken.
const maxKnown = 100_000

// Slots counts limits in a MongoDB collection: an action takes the next free slot of its
// account's window, a document {_id: "<limit>/<account>/<window start>/<n>", ends} for n from 1
// to Max. Two instances can never take the same slot, since _id is unique (a conditional $inc
// would not do: it is not atomic on every MongoDB-wire server, see docs/mongo-wire.md), and past Max
// there is no slot to take. Each instance remembers the highest slot it knows taken per window
// and starts from the next, which makes an allowed action one insert, and an action past the
// limit once refused here no round trip at all; a slot given back (Release) lowers it. Sweep removes the slots of ended windows (TTL indexes
// are not implemented on every MongoDB-wire server).
type Slots struct {
	coll *mongo.Collection
	now  func() time.Time

	mu    sync.Mutex
	known map[string]knownSlot // by "<limit>/<account>/<window start>"
}

// knownSlot is the highest slot of a window this process knows taken.
type knownSlot struct {
	n   int64
	end time.Time
}

// slotDoc is one action counted in a window.
type slotDoc struct {
	ID   string    `bson:"_id"`
	Ends time.Time `bson:"ends"` // the window's end; Sweep removes the slot after it
}

// NewSlots returns Slots on coll, reading the time from now. Call EnsureIndexes at start.
func NewSlots(coll *mongo.Collection, now func() time.Time) *Slots {
	return &Slots{coll: coll, now: now, known: map[string]knownSlot{}}
}

// EnsureIndexes declares the index Sweep uses (on a real MongoDB; FerretDB scans either way).
func (s *Slots) EnsureIndexes(ctx context.Context) error {
	return mongox.EnsureIndexes(ctx, s.coll, mongo.IndexModel{Keys: bson.D{{Key: "ends", Value: 1}}})
}

// Take counts one action of account against l, or refuses it with an errs.RateLimited error
// until the window ends. A limit that is off costs nothing, not even a round trip.
func (s *Slots) Take(ctx context.Context, account string, l Limit) error {
	_, err := s.TakeSlot(ctx, account, l)
	return err
}

// TakeSlot is Take for an action that may be given back (Release): it returns the slot the
// action took ("" when l is off).
func (s *Slots) TakeSlot(ctx context.Context, account string, l Limit) (string, error) {
	if l.Off() {
		return "", nil
	}
	now := s.now()
	start, end := l.window(now)
	window := windowID(l, account, start)
	for n := s.knownTaken(window) + 1; n <= l.Max; n++ {
		slot := window + "/" + strconv.FormatInt(n, 10)
		_, err := s.coll.InsertOne(ctx, slotDoc{ID: slot, Ends: end})
		if err == nil {
			s.remember(window, n, end, now)
			return slot, nil
		}
		if !mongox.IsDuplicate(err) {
			return "", mongox.Unavailable(fmt.Errorf("take a %s slot: %w", l.Name, err))
		}
	}
	s.remember(window, l.Max, end, now)
	return "", exceeded(l, now, end)
}

// Release gives back slot, taken by TakeSlot: the action it counted is not to be counted after
// all. The next Take of this instance may take it again; on others it stays unused until its
// window ends (stricter, never looser).
func (s *Slots) Release(ctx context.Context, slot string) error {
	if slot == "" {
		return nil
	}
	if _, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: slot}}); err != nil {
		return mongox.Unavailable(fmt.Errorf("release quota slot: %w", err))
	}
	i := strings.LastIndexByte(slot, '/')
	n, err := strconv.ParseInt(slot[i+1:], 10, 64)
	if i < 0 || err != nil {
		return nil
	}
	window := slot[:i]
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.known[window]; ok && k.n >= n {
		k.n = n - 1
		s.known[window] = k
	}
	return nil
}

// Full tells, without counting, whether account's window of l is full: the error Take would
// give, or nil. It is exact for a limit whose slots are never released (its taken slots are
// then 1 to n, so the window is full when slot Max is taken).
func (s *Slots) Full(ctx context.Context, account string, l Limit) error {
	if l.Off() {
		return nil
	}
	now := s.now()
	start, end := l.window(now)
	window := windowID(l, account, start)
	if s.knownTaken(window) >= l.Max {
		return exceeded(l, now, end)
	}
	err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: window + "/" + strconv.FormatInt(l.Max, 10)}}).Err()
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return nil
	case err != nil:
		return mongox.Unavailable(fmt.Errorf("read a %s slot: %w", l.Name, err))
	}
	s.remember(window, l.Max, end, now)
	return exceeded(l, now, end)
}

// windowID names account's window of l that starts at start; its slots are "<window>/<n>".
func windowID(l Limit, account string, start time.Time) string {
	return l.Name + "/" + account + "/" + strconv.FormatInt(start.Unix(), 10)
}

func (s *Slots) knownTaken(window string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.known[window].n
}

// remember records that slot n of window is taken.
func (s *Slots) remember(window string, n int64, end, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= s.known[window].n {
		return
	}
	if _, ok := s.known[window]; !ok && len(s.known) >= maxKnown {
		for w, k := range s.known {
			if !now.Before(k.end) {
				delete(s.known, w)
			}
		}
		if len(s.known) >= maxKnown {
			clear(s.known) // forgetting only costs a few inserts that find their slots taken
		}
	}
	s.known[window] = knownSlot{n: n, end: end}
}

// Sweep removes the slots of windows that ended more than keyGrace ago (an instance whose clock
// runs behind may still be counting in a window just ended), in batches, at most
// sweepBatches×sweepBatch slots a run, stopping early when ctx is done. It returns how many it
// removed. Run it periodically, with a deadline; several instances may sweep at once.
func (s *Slots) Sweep(ctx context.Context) (int, error) {
	before := s.now().Add(-keyGrace)
	removed := 0
	for range sweepBatches {
		cur, err := s.coll.Find(ctx, bson.D{{Key: "ends", Value: bson.D{{Key: "$lt", Value: before}}}},
			options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetLimit(sweepBatch))
		if err != nil {
			return removed, mongox.Unavailable(fmt.Errorf("find ended quota slots: %w", err))
		}
		var ended []slotDoc
		if err := cur.All(ctx, &ended); err != nil {
			return removed, mongox.Unavailable(fmt.Errorf("find ended quota slots: %w", err))
		}
		if len(ended) == 0 {
			return removed, nil
		}
		ids := make([]string, len(ended))
		for i, d := range ended {
			ids[i] = d.ID
		}
		n, err := mongox.DeleteIDs(ctx, s.coll, ids)
		removed += n
		if err != nil {
			return removed, fmt.Errorf("remove ended quota slots: %w", err)
		}
		if len(ended) < sweepBatch {
			return removed, nil
		}
	}
	return removed, nil
}
