package turns_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/turns"
)

// Operations on overlapping keys, taken in any order, hold each key alone and never wait for
// each other for good.
func TestOverlappingKeysTakeTurns(t *testing.T) {
	var ts turns.Turns
	holders := map[string]*atomic.Int32{"a": {}, "b": {}, "c": {}}
	sets := [][]string{{"a", "b"}, {"b", "a"}, {"c", "a"}, {"b", "c", "b"}}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys := sets[i%len(sets)]
			give, err := ts.Take(context.Background(), keys...)
			if !assert.NoError(t, err) {
				return
			}
			defer give()
			for _, k := range distinct(keys) {
				if n := holders[k].Add(1); n != 1 {
					t.Errorf("%s held by %d at once", k, n)
				}
			}
			for _, k := range distinct(keys) {
				holders[k].Add(-1)
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, ts.Len(), "no entry is kept once the turns are given back")
}

// A turn waited for past the caller's deadline is an Unavailable error, and holds nothing.
func TestTakeEndsWithTheContext(t *testing.T) {
	var ts turns.Turns
	give, err := ts.Take(context.Background(), "b")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = ts.Take(ctx, "a", "b")
	require.Error(t, err)
	assert.True(t, errors.Is(err, errs.Unavailable), "%v", err)

	// "a" was given back when the wait for "b" ended.
	giveA, err := ts.Take(context.Background(), "a")
	require.NoError(t, err)
	giveA()
	give()
	assert.Zero(t, ts.Len())
}

func distinct(keys []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
