package quota

import (
	"context"
	"fmt"
	"strconv"
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
// there is no slot to take. Slots are never given back within their window, so a slot number
// known taken stays taken: each instance remembers the highest one it knows per window and
// starts from the next, which makes an allowed action one insert, and an action past the limit
// once refused here no round trip at all. Sweep removes the slots of ended windows (TTL indexes
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

// NewSlots returns Slots on coll, reading the time from now, and declares the index Sweep uses.
func NewSlots(ctx context.Context, coll *mongo.Collection, now func() time.Time) (*Slots, error) {
	err := mongox.EnsureIndexes(ctx, coll, mongo.IndexModel{Keys: bson.D{{Key: "ends", Value: 1}}})
	if err != nil {
		return nil, err
	}
	return &Slots{coll: coll, now: now, known: map[string]knownSlot{}}, nil
}

// Take counts one action of account against l, or refuses it with an errs.RateLimited error
// until the window ends. A limit that is off costs nothing, not even a round trip.
func (s *Slots) Take(ctx context.Context, account string, l Limit) error {
	if l.Off() {
		return nil
	}
	now := s.now()
	start, end := l.window(now)
	window := l.Name + "/" + account + "/" + strconv.FormatInt(start.Unix(), 10)
	for n := s.knownTaken(window) + 1; n <= l.Max; n++ {
		_, err := s.coll.InsertOne(ctx, slotDoc{ID: window + "/" + strconv.FormatInt(n, 10), Ends: end})
		if err == nil {
			s.remember(window, n, end, now)
			return nil
		}
		if !mongox.IsDuplicate(err) {
			return mongox.Unavailable(fmt.Errorf("take a %s slot: %w", l.Name, err))
		}
	}
	s.remember(window, l.Max, end, now)
	return exceeded(l, now, end)
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
