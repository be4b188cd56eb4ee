// Package vcache is a read cache of versioned values that several instances of a service share
// a store for: each instance keeps the latest version it knows of each key, and drops it when
// told (by a broadcast) that a newer version was stored elsewhere.
package vcache

import (
	"cmp"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// Cache holds, per key, the newest version heard of and, when it holds that version, its value.
//
// What keeps it current, and how stale it may be: the owner Puts every value it stores or reads;
// every instance broadcasts the (key, version) it stores, and Heard drops an older entry when
// that arrives (within milliseconds); the owner Flushes it whenever that subscription
// (re)starts, since broadcasts sent while it was away are lost; and a value is not returned after
// TTL (unless Lasting says nothing can change it), which bounds how stale a lost broadcast leaves
// it. A version heard of is remembered, so a read that started before the broadcast cannot put
// an older value back. Bounded: the least recently used entries go first.
type Cache[K comparable, Ver cmp.Ordered, V any] struct {
	mu      sync.Mutex // makes Put's and Heard's look-then-write one step
	entries *expirable.LRU[K, entry[Ver, V]]
	ttl     time.Duration
	now     func() time.Time
	lasting func(V) bool
}

type entry[Ver cmp.Ordered, V any] struct {
	version Ver
	value   *V // nil when only the version was heard of
	at      time.Time
}

// Options configure a Cache.
type Options[V any] struct {
	Size    int              // the most keys held
	TTL     time.Duration    // how long a value is returned after it was put
	Now     func() time.Time // the clock; nil is the wall clock
	Lasting func(V) bool     // values no later version can change: returned past TTL; nil none
}

// New returns an empty cache.
func New[K comparable, Ver cmp.Ordered, V any](o Options[V]) *Cache[K, Ver, V] {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lasting == nil {
		o.Lasting = func(V) bool { return false }
	}
	// A TTL of 0 for the LRU itself: Get applies the TTL, except to lasting values.
	return &Cache[K, Ver, V]{entries: expirable.NewLRU[K, entry[Ver, V]](o.Size, nil, 0), ttl: o.TTL, now: o.Now, lasting: o.Lasting}
}

// Put records value as version of key, unless a newer version was heard of.
func (c *Cache[K, Ver, V]) Put(key K, version Ver, value V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries.Peek(key); ok && e.version > version {
		return
	}
	c.entries.Add(key, entry[Ver, V]{version: version, value: &value, at: c.now()})
}

// Heard drops the key's value if version is newer than it, and remembers version.
func (c *Cache[K, Ver, V]) Heard(key K, version Ver) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries.Peek(key); ok && e.version >= version {
		return
	}
	c.entries.Add(key, entry[Ver, V]{version: version, at: c.now()})
}

// Get returns the key's value, if the cache holds a recent one (or a lasting one).
func (c *Cache[K, Ver, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries.Get(key)
	if !ok || e.value == nil || (c.now().Sub(e.at) > c.ttl && !c.lasting(*e.value)) {
		var zero V
		return zero, false
	}
	return *e.value, true
}

// Version returns the newest version of key heard of or put, if the cache holds the key.
func (c *Cache[K, Ver, V]) Version(key K) (Ver, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries.Peek(key)
	return e.version, ok
}

// Len returns how many keys the cache holds.
func (c *Cache[K, Ver, V]) Len() int { return c.entries.Len() }

// Flush empties the cache.
func (c *Cache[K, Ver, V]) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries.Purge()
}
