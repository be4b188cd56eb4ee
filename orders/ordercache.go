package orders

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
)

// orderCache holds the listed orders, of any status, as this instance last knew them, so a
// listing (GET /orders) reads from the store only the orders it misses. It is a read model for
// listings alone: changes decide on the store (Service.changeFrom), and GET /orders/{id} reads
// the projection and looks for a next event (Service.Get), as before.
//
// What keeps it current, and how stale it may be: this instance's own changes, repairs and
// rebuilds put the order as they left it (a placed order folded from its events, as listings
// show it); every instance broadcasts the (order, version) of each change it stores on the
// order_changes fanout exchange, and an older entry is dropped when that arrives (within
// milliseconds); the cache is emptied whenever that subscription (re)starts, since broadcasts
// sent while it was away are lost; and an entry is not used after orderCacheTTL, which bounds
// how stale a broadcast its sender could not publish leaves it — except a settled order
// (Order.settled), which no event can change. Bounded: the least recently used entries go first.
type orderCache struct {
	mu   sync.Mutex // makes put's and heard's look-then-write one step
	ttl  time.Duration
	byID *expirable.LRU[string, orderEntry]
}

// orderEntry is the newest version of an order the cache has heard of and, when it holds that
// version, the order itself.
type orderEntry struct {
	version int
	order   *Order
	at      time.Time
}

// Cache bounds.
const (
	orderCacheTTL  = 30 * time.Second
	orderCacheSize = 20_000
)

func newOrderCache(ttl time.Duration) *orderCache {
	// A TTL of 0 for the LRU itself: get applies orderCacheTTL, except to settled orders.
	return &orderCache{ttl: ttl, byID: expirable.NewLRU[string, orderEntry](orderCacheSize, nil, 0)}
}

// put records o as the order's latest known state, unless a newer version was heard of.
func (c *orderCache) put(o Order) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID.Peek(o.ID); ok && e.version > o.Version {
		return
	}
	c.byID.Add(o.ID, orderEntry{version: o.Version, order: &o, at: time.Now()})
}

// heard drops the order's entry if version is newer, remembering it so that an older read
// that was in flight cannot be put back.
func (c *orderCache) heard(orderID string, version int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID.Peek(orderID); ok && e.version >= version {
		return
	}
	c.byID.Add(orderID, orderEntry{version: version, at: time.Now()})
}

// get returns the cached order, if the cache holds a recent one (or a settled one).
func (c *orderCache) get(orderID string) (Order, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID.Get(orderID)
	if !ok || e.order == nil || (time.Since(e.at) > c.ttl && !e.order.settled()) {
		return Order{}, false
	}
	return *e.order, true
}

// flush empties the cache.
func (c *orderCache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byID.Purge()
}

// typeOrderChanged is the type of the broadcasts of stored order versions on
// contract.ExchangeOrderChanges.
const typeOrderChanged = "order-changed"

// orderChanged is the body of an order-changed broadcast: which version of an order was stored.
type orderChanged struct {
	OrderID string `json:"orderId"`
	Version int    `json:"version"`
}

// handleOrderChanged records a broadcast version in the cache.
func handleOrderChanged(c *orderCache) bus.Handler {
	return bus.Receive(typeOrderChanged, func(msg orderChanged) error {
		c.heard(msg.OrderID, msg.Version)
		return nil
	})
}
