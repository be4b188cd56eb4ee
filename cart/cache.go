package cart

import (
	"sync"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
)

// cartCache holds the latest known open cart of recently seen users, so GET /cart is answered
// without the store, and a change (a line change, a checkout) starts from it without reading
// the store. A stale start is safe: states are immutable and a change inserts version+1 under a
// unique _id, so if the cached state was not the latest, that version exists, the insert fails
// as a duplicate, and the change starts over from the store (only its first attempt uses the
// cache). An edit that changes nothing answers from the cached state, as GET /cart would.
//
// What keeps it current, and how stale it may be: this instance's own writes are recorded as
// soon as they are stored, so the next read here sees them; every instance broadcasts the
// (cart, version) it stores on the cart_changes fanout exchange, and an older entry is dropped
// when that arrives (within milliseconds); the cache is emptied whenever that subscription
// (re)starts, since broadcasts sent while it was away are lost; and an entry is not used after
// cacheTTL, which bounds how stale a broadcast its sender could not publish leaves it.
type cartCache struct {
	mu     sync.Mutex
	ttl    time.Duration
	byUser map[string]cacheEntry
}

// cacheEntry is the newest state of a user's cart the cache has heard of (gen, version) and,
// when it holds that state, the state itself.
type cacheEntry struct {
	gen, version int
	cart         *Cart
	at           time.Time
}

// Cache bounds.
const (
	cacheTTL      = 30 * time.Second
	cacheMaxUsers = 100_000 // past this, the cache is emptied and starts again
)

func newCartCache(ttl time.Duration) *cartCache {
	return &cartCache{ttl: ttl, byUser: map[string]cacheEntry{}}
}

// olderThan tells whether e is no newer than state (gen, version).
func (e cacheEntry) olderThan(gen, version int) bool {
	return e.gen < gen || (e.gen == gen && e.version <= version)
}

// put records c as the user's latest cart, unless a newer state was heard of.
func (cc *cartCache) put(c Cart) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if e, ok := cc.byUser[c.UserID]; ok && !e.olderThan(c.Gen, c.Version) {
		return
	}
	if len(cc.byUser) >= cacheMaxUsers {
		clear(cc.byUser)
	}
	cc.byUser[c.UserID] = cacheEntry{gen: c.Gen, version: c.Version, cart: &c, at: time.Now()}
}

// heard drops the user's entry if state (gen, version) is newer, remembering it so that an
// older read cannot be put back.
func (cc *cartCache) heard(userID string, gen, version int) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.byUser[userID]
	if ok && (e.gen > gen || (e.gen == gen && e.version >= version)) {
		return
	}
	cc.byUser[userID] = cacheEntry{gen: gen, version: version, at: time.Now()}
}

// open returns the user's cached open cart, if the cache holds a recent one.
func (cc *cartCache) open(userID string) (Cart, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.byUser[userID]
	if !ok || e.cart == nil || !e.cart.Enabled || time.Since(e.at) > cc.ttl {
		return Cart{}, false
	}
	return *e.cart, true
}

// flush empties the cache.
func (cc *cartCache) flush() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	clear(cc.byUser)
}

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
