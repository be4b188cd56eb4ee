package vcache_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/vcache"
)

func TestCacheKeepsTheNewestVersion(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := vcache.New[string, int, string](vcache.Options[string]{
		Size: 10, TTL: time.Minute, Now: clock.Now, Lasting: func(v string) bool { return v == "final" },
	})
	c.Put("k", 2, "two")
	got, ok := c.Get("k")
	require.True(t, ok)
	assert.Equal(t, "two", got)

	c.Put("k", 1, "one") // an older read
	got, _ = c.Get("k")
	assert.Equal(t, "two", got)

	c.Heard("k", 2) // this version, told back by the broadcast
	_, ok = c.Get("k")
	assert.True(t, ok, "the version held is no news")
	c.Heard("k", 3) // stored elsewhere
	_, ok = c.Get("k")
	assert.False(t, ok, "a newer version elsewhere drops the value")
	v, _ := c.Version("k")
	assert.Equal(t, 3, v)
	c.Put("k", 2, "two") // a read that started before the broadcast
	_, ok = c.Get("k")
	assert.False(t, ok, "and an older read cannot bring it back")
	c.Put("k", 3, "three")
	got, ok = c.Get("k")
	require.True(t, ok, "the version heard of, read")
	assert.Equal(t, "three", got)

	c.Put("f", 1, "final")
	clock.Add(time.Minute + time.Millisecond)
	_, ok = c.Get("k")
	assert.False(t, ok, "values expire")
	_, ok = c.Get("f")
	assert.True(t, ok, "except lasting ones")

	c.Flush()
	assert.Zero(t, c.Len())
	_, ok = c.Get("f")
	assert.False(t, ok, "flushed")
}

func TestCacheIsBounded(t *testing.T) {
	c := vcache.New[string, int, int](vcache.Options[int]{Size: 3, TTL: time.Hour})
	for i := range 5 {
		c.Put(fmt.Sprint(i), 1, i)
	}
	assert.Equal(t, 3, c.Len())
	_, ok := c.Get("0")
	assert.False(t, ok, "the least recently used went first")
	got, ok := c.Get("4")
	assert.True(t, ok)
	assert.Equal(t, 4, got)
}
