package web

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ecommerce-go/ecommerce/web/api"
)

// listingCache keeps the catalog pages shoppers browse (search text and page number) for a few
// seconds, so a busy shop asks the catalog once per page and period instead of once per visitor.
// Kept current by expiry only: a listing shown may be up to listingTTL old (a new price or stock
// shows a moment later). Article pages, the cart, orders and the admin console read the catalog
// directly. Concurrent misses of one page make one call.
type listingCache struct {
	fetch func(ctx context.Context, q string, page, size int) (api.ArticlePage, error)
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]listingEntry
	calls   singleflight.Group
}

type listingEntry struct {
	page    api.ArticlePage
	expires time.Time
}

const (
	listingTTL        = 2 * time.Second
	maxListingEntries = 1000 // past it the cache is emptied rather than grown
)

func newListingCache(client *api.Client, now func() time.Time) *listingCache {
	return &listingCache{fetch: client.Articles, ttl: listingTTL, now: now, entries: map[string]listingEntry{}}
}

// Articles is api.Client.Articles through the cache.
func (c *listingCache) Articles(ctx context.Context, q string, page, size int) (api.ArticlePage, error) {
	key := strconv.Itoa(page) + "/" + strconv.Itoa(size) + "/" + q
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.page, nil
	}
	v, err, _ := c.calls.Do(key, func() (any, error) {
		p, err := c.fetch(context.WithoutCancel(ctx), q, page, size)
		if err != nil {
			return p, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.entries) >= maxListingEntries {
			c.entries = map[string]listingEntry{}
		}
		c.entries[key] = listingEntry{page: p, expires: c.now().Add(c.ttl)}
		return p, nil
	})
	return v.(api.ArticlePage), err
}
