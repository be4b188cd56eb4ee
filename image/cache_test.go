package image

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The cache of variants stays within its bytes, dropping the least recently used first, and
// keeps no variant over its entry bound.
func TestVariantCacheBounds(t *testing.T) {
	c := newVariantCache(10, 6)
	c.put("a", []byte("aaaa"))
	c.put("b", []byte("bbbb"))
	_, ok := c.get("a") // a is now the most recently used
	assert.True(t, ok)
	c.put("c", []byte("cccc")) // 12 bytes: b, the least recently used, goes
	_, ok = c.get("b")
	assert.False(t, ok, "the least recently used is dropped")
	for _, key := range []string{"a", "c"} {
		data, ok := c.get(key)
		assert.True(t, ok, key)
		assert.Len(t, data, 4)
	}
	c.put("big", []byte("1234567"))
	_, ok = c.get("big")
	assert.False(t, ok, "over the entry bound: not kept")
	assert.LessOrEqual(t, c.bytes, 10)
	assert.Equal(t, c.order.Len(), len(c.byKey))
}
