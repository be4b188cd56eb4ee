package image

import (
	"container/list"
	"sync"
)

// variantCache keeps the JPEG bytes of recently served variants in memory, so that a popular
// thumbnail is answered without a Redis round trip. Nothing keeps it current because nothing has
// to: an image id never changes its picture and a variant is always computed the same way, so
// cached bytes are never stale. It is bounded by bytes (least recently used out first), and
// variants larger than maxEntry are not kept, so it adds at most maxBytes to the process.
type variantCache struct {
	maxBytes, maxEntry int

	mu    sync.Mutex
	bytes int
	order *list.List               // of *cachedVariant, most recently used first
	byKey map[string]*list.Element // key → its element in order
}

type cachedVariant struct {
	key  string
	data []byte
}

func newVariantCache(maxBytes, maxEntry int) *variantCache {
	return &variantCache{maxBytes: maxBytes, maxEntry: maxEntry, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns the bytes cached under key. Callers must not change them.
func (c *variantCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cachedVariant).data, true
}

// put caches data under key, dropping the least recently used entries to stay within maxBytes.
func (c *variantCache) put(key string, data []byte) {
	if len(data) > c.maxEntry || len(data) > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok {
		return // the same bytes: a variant never changes
	}
	c.byKey[key] = c.order.PushFront(&cachedVariant{key: key, data: data})
	c.bytes += len(data)
	for c.bytes > c.maxBytes {
		oldest := c.order.Back()
		v := oldest.Value.(*cachedVariant)
		c.order.Remove(oldest)
		delete(c.byKey, v.key)
		c.bytes -= len(v.data)
	}
}
