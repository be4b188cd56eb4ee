// Package turns lets the operations of one process on the same things take turns: an order's
// changes in orders, the stock moves of an article in catalog. Each would otherwise race the
// others of its own process for the same version in the store and all but one would lose, read
// again and retry; across processes the store's unique _ids still settle every race. A turn is
// waited for within the caller's context, so a turn held by an operation stuck on the store
// holds the others up to their own deadlines, never for good.
package turns

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// Turns hands out turns by key. Its zero value is ready to use. A key's entry lives only while
// operations hold or wait for its turn, so memory does not grow with the keys ever seen.
type Turns struct {
	mu   sync.Mutex
	keys map[string]*turn
}

type turn struct {
	token chan struct{} // holds a token while an operation has the turn
	users int           // operations holding or waiting for the turn; guarded by Turns.mu
}

// Take waits for the turn of every key (in sorted order, so two operations on overlapping keys
// cannot wait for each other), or until ctx ends: then it holds none and returns an
// errs.Unavailable error. give ends the turns taken. Turns are not reentrant: an operation that
// holds a key's turn and asks for it again waits for itself until ctx ends.
func (ts *Turns) Take(ctx context.Context, keys ...string) (give func(), err error) {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	taken := make([]*turn, 0, len(keys))
	give = func() {
		for i, t := range taken {
			<-t.token
			ts.leave(keys[i], t)
		}
	}
	for _, key := range keys {
		t := ts.join(key)
		select {
		case t.token <- struct{}{}:
			taken = append(taken, t)
		case <-ctx.Done():
			ts.leave(key, t)
			give()
			return nil, fmt.Errorf("%w: waiting for the turn of %s: %w", errs.Unavailable, key, ctx.Err())
		}
	}
	return give, nil
}

// Len returns how many keys have an entry (operations holding or waiting for their turn).
func (ts *Turns) Len() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.keys)
}

func (ts *Turns) join(key string) *turn {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.keys == nil {
		ts.keys = map[string]*turn{}
	}
	t := ts.keys[key]
	if t == nil {
		t = &turn{token: make(chan struct{}, 1)}
		ts.keys[key] = t
	}
	t.users++
	return t
}

func (ts *Turns) leave(key string, t *turn) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t.users--; t.users == 0 {
		delete(ts.keys, key)
	}
}
