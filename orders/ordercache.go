package orders

import (
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/vcache"
)

// orderCache holds the listed orders, of any status, as this instance last knew them, so a
// listing (GET /orders) reads from the store only the orders it misses. Listings alone read it:
// changes decide on the store, and GET /orders/{id} reads the store (Service.Get).
//
// What keeps it current: this instance's changes, repairs and rebuilds put the order as they
// left it (a placed order folded from its events), and the order_changes broadcast of every
// instance drops an older entry (handleOrderChanged); Run flushes it when that subscription
// (re)starts. How stale it may be: milliseconds behind a broadcast, orderCacheTTL at most when a
// broadcast was lost, except a settled order (Order.settled), which no event can change.
type orderCache = *vcache.Cache[string, int, Order]

// Cache bounds.
const (
	orderCacheTTL  = 30 * time.Second
	orderCacheSize = 20_000
)

func newOrderCache(ttl time.Duration, now func() time.Time) orderCache {
	return vcache.New[string, int](vcache.Options[Order]{Size: orderCacheSize, TTL: ttl, Now: now, Lasting: Order.settled})
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
func handleOrderChanged(c orderCache) bus.Handler {
	return bus.Receive(typeOrderChanged, func(msg orderChanged) error {
		c.Heard(msg.OrderID, msg.Version)
		return nil
	})
}
