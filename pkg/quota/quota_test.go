package quota_test

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
	"github.com/ecommerce-go/ecommerce/pkg/quota"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// start is 20 minutes into an hour, 20 seconds into a minute.
var start = time.Date(2026, 12, 6, 10, 20, 20, 0, time.UTC)

// requireRefused checks that err is the quota's 429 with a pause of exactly left.
func requireRefused(t *testing.T, err error, left time.Duration) {
	t.Helper()
	require.ErrorIs(t, err, errs.RateLimited)
	var e *errs.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, errs.CodeRateLimited, e.Code)
	assert.Equal(t, left, e.RetryAfter)
}

func TestCounter(t *testing.T) {
	ctx := context.Background()
	uploads := quota.Limit{Name: "uploads", Max: 3, Per: time.Hour}
	bytes := quota.Limit{Name: "bytes", Max: 100, Per: time.Hour}
	charge := func(size int64) []quota.Charge {
		return []quota.Charge{{Limit: uploads, Amount: 1}, {Limit: bytes, Amount: size}}
	}

	t.Run("the limit+1-th is refused until the window ends, other accounts are not", func(t *testing.T) {
		client, prefix := testkit.Redis(t)
		clk := testkit.NewClock(start)
		c := quota.NewCounter(client, prefix, clk.Now)
		for range 3 {
			require.NoError(t, c.Take(ctx, "ann", charge(10)...))
		}
		requireRefused(t, c.Take(ctx, "ann", charge(10)...), 40*time.Minute-20*time.Second)
		require.NoError(t, c.Take(ctx, "bob", charge(10)...), "another account has its own count")

		clk.Set(start.Truncate(time.Hour).Add(time.Hour - time.Second))
		requireRefused(t, c.Take(ctx, "ann", charge(10)...), time.Second)
		clk.Add(time.Second) // the next window
		require.NoError(t, c.Take(ctx, "ann", charge(10)...))
	})

	t.Run("a refused charge counts for nothing", func(t *testing.T) {
		client, prefix := testkit.Redis(t)
		c := quota.NewCounter(client, prefix, testkit.NewClock(start).Now)
		require.NoError(t, c.Take(ctx, "ann", charge(90)...))
		requireRefused(t, c.Take(ctx, "ann", charge(20)...), 40*time.Minute-20*time.Second)
		require.NoError(t, c.Take(ctx, "ann", charge(10)...), "90+10 bytes and 2 uploads fit")
		requireRefused(t, c.Take(ctx, "ann", charge(1)...), 40*time.Minute-20*time.Second)
	})

	t.Run("two instances share the count", func(t *testing.T) {
		client, prefix := testkit.Redis(t)
		clk := testkit.NewClock(start)
		instances := []*quota.Counter{quota.NewCounter(client, prefix, clk.Now), quota.NewCounter(client, prefix, clk.Now)}
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				err := instances[i%2].Take(ctx, "ann", quota.Charge{Limit: uploads, Amount: 1})
				if err == nil {
					allowed.Add(1)
				} else {
					assert.ErrorIs(t, err, errs.RateLimited)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, uploads.Max, allowed.Load())
	})

	t.Run("a limit of 0 is off and stores nothing", func(t *testing.T) {
		client, prefix := testkit.Redis(t)
		c := quota.NewCounter(client, prefix, testkit.NewClock(start).Now)
		off := []quota.Charge{{Limit: quota.Limit{Name: "uploads", Per: time.Hour}, Amount: 1}, {Limit: quota.Limit{Name: "bytes", Per: time.Hour}, Amount: 1 << 40}}
		for range 10 {
			require.NoError(t, c.Take(ctx, "ann", off...))
		}
		keys, err := client.Keys(ctx, prefix+"*").Result()
		require.NoError(t, err)
		assert.Empty(t, keys)
		var none *quota.Counter
		assert.NoError(t, none.Take(ctx, "ann", off...), "not even a client is needed")
	})
}

func TestSlots(t *testing.T) {
	ctx := context.Background()
	checkouts := quota.Limit{Name: "checkouts", Max: 3, Per: time.Minute}
	newSlots := func(t *testing.T, clk *testkit.Clock) *quota.Slots {
		db, _ := testkit.CountingMongo(t)
		s := quota.NewSlots(db.Collection("quota_slots"), clk.Now)
		require.NoError(t, s.EnsureIndexes(ctx))
		return s
	}

	t.Run("the limit+1-th is refused until the window ends, other accounts are not", func(t *testing.T) {
		clk := testkit.NewClock(start)
		s := newSlots(t, clk)
		for range 3 {
			require.NoError(t, s.Take(ctx, "ann", checkouts))
		}
		requireRefused(t, s.Take(ctx, "ann", checkouts), 40*time.Second)
		require.NoError(t, s.Take(ctx, "bob", checkouts))
		clk.Add(39 * time.Second)
		requireRefused(t, s.Take(ctx, "ann", checkouts), time.Second)
		clk.Add(time.Second)
		require.NoError(t, s.Take(ctx, "ann", checkouts))
	})

	t.Run("two instances share the count, exactly, under concurrency", func(t *testing.T) {
		clk := testkit.NewClock(start)
		db := testkit.Mongo(t)
		var instances []*quota.Slots
		for range 2 {
			s := quota.NewSlots(db.Collection("quota_slots"), clk.Now)
			require.NoError(t, s.EnsureIndexes(ctx))
			instances = append(instances, s)
		}
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				err := instances[i%2].Take(ctx, "ann", checkouts)
				if err == nil {
					allowed.Add(1)
				} else {
					assert.ErrorIs(t, err, errs.RateLimited)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, checkouts.Max, allowed.Load())
		n, err := db.Collection("quota_slots").CountDocuments(ctx, map[string]any{})
		require.NoError(t, err)
		assert.EqualValues(t, checkouts.Max, n, "one slot per allowed action, none for the refused")
	})

	t.Run("round trips: one insert allowed, none once refused, none when off", func(t *testing.T) {
		clk := testkit.NewClock(start)
		db, trips := testkit.CountingMongo(t)
		s := quota.NewSlots(db.Collection("quota_slots"), clk.Now)
		require.NoError(t, s.EnsureIndexes(ctx))
		for range 3 {
			assert.EqualValues(t, 1, trips.During(func() { require.NoError(t, s.Take(ctx, "ann", checkouts)) }))
		}
		assert.EqualValues(t, 0, trips.During(func() { requireRefused(t, s.Take(ctx, "ann", checkouts), 40*time.Second) }))
		off := quota.Limit{Name: "checkouts", Per: time.Minute}
		assert.EqualValues(t, 0, trips.During(func() { require.NoError(t, s.Take(ctx, "ann", off)) }))
	})

	t.Run("sweep removes the slots of ended windows only", func(t *testing.T) {
		clk := testkit.NewClock(start)
		db := testkit.Mongo(t)
		s := quota.NewSlots(db.Collection("quota_slots"), clk.Now)
		require.NoError(t, s.EnsureIndexes(ctx))
		require.NoError(t, s.Take(ctx, "ann", checkouts))
		require.NoError(t, s.Take(ctx, "bob", quota.Limit{Name: "uploads", Max: 3, Per: time.Hour}))
		clk.Add(2 * time.Minute) // ann's minute ended more than a minute ago; bob's hour runs on
		require.NoError(t, s.Take(ctx, "ann", checkouts))

		removed, err := s.Sweep(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, removed)
		n, err := db.Collection("quota_slots").CountDocuments(ctx, map[string]any{})
		require.NoError(t, err)
		assert.EqualValues(t, 2, n)
	})

	t.Run("a slot given back counts no more; Full tells without counting", func(t *testing.T) {
		clk := testkit.NewClock(start)
		s := newSlots(t, clk)
		var slots []string
		for range 3 {
			slot, err := s.TakeSlot(ctx, "ann", checkouts)
			require.NoError(t, err)
			slots = append(slots, slot)
		}
		requireRefused(t, s.Full(ctx, "ann", checkouts), 40*time.Second)
		require.NoError(t, newSlots(t, clk).Full(ctx, "ann", checkouts), "another store's window is empty")
		require.NoError(t, s.Release(ctx, slots[1]))
		_, err := s.TakeSlot(ctx, "ann", checkouts)
		require.NoError(t, err, "and is taken again")
		requireRefused(t, s.Take(ctx, "ann", checkouts), 40*time.Second)
		require.NoError(t, s.Release(ctx, ""), "nothing to give back")
	})
}
