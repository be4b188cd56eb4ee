package cart

import (
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/vcache"
)

// cartCache holds the latest known open cart of recently seen users, so GET /cart is answered
// without the store, and a change (a line change, a checkout) starts from it without reading
// the store. A stale start is safe: a change inserts version+1 under a unique _id, so if the
// cached state was not the latest the insert fails and the change starts over from the store.
//
// What keeps it current: this instance records each state it stores at once, and the
// cart_changes broadcast of every instance drops an older entry (handleCartChanged); Run
// flushes it when that subscription (re)starts. How stale it may be: milliseconds behind a
// broadcast, cacheTTL at most when a broadcast was lost (pkg/vcache).
type cartCache struct {
	states *vcache.Cache[string, int64, Cart] // user id → cart, by stateOrder
}

// Cache bounds.
const (
	cacheTTL      = 30 * time.Second
	cacheMaxUsers = 100_000
)

func newCartCache(ttl time.Duration, now func() time.Time) *cartCache {
	return &cartCache{states: vcache.New[string, int64](vcache.Options[Cart]{Size: cacheMaxUsers, TTL: ttl, Now: now})}
}

// stateOrder orders a user's cart states: by cart (gen), then by version within it.
func stateOrder(gen, version int) int64 { return int64(gen)<<32 | int64(version) }

// put records c as the user's latest cart, unless a newer state was heard of.
func (cc *cartCache) put(c Cart) { cc.states.Put(c.UserID, stateOrder(c.Gen, c.Version), c) }

// heard drops the user's entry if state (gen, version) is newer.
func (cc *cartCache) heard(userID string, gen, version int) {
	cc.states.Heard(userID, stateOrder(gen, version))
}

// open returns the user's cached open cart, if the cache holds a recent one.
func (cc *cartCache) open(userID string) (Cart, bool) {
	c, ok := cc.states.Get(userID)
	return c, ok && c.Enabled
}

// flush empties the cache.
func (cc *cartCache) flush() { cc.states.Flush() }

// typeCartChanged is the type of the broadcasts of stored cart states on
// contract.ExchangeCartChanges.
const typeCartChanged = "cart-changed"

// cartChanged is the body of a cart-changed broadcast: which state of whose cart was stored.
type cartChanged struct {
	UserID  string `json:"userId"`
	Gen     int    `json:"gen"`
	Version int    `json:"version"`
}

// handleCartChanged records a broadcast state in the cache.
func handleCartChanged(cc *cartCache) bus.Handler {
	return bus.Receive(typeCartChanged, func(msg cartChanged) error {
		cc.heard(msg.UserID, msg.Gen, msg.Version)
		return nil
	})
}
