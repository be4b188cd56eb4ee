package cart

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

func TestCartCacheKeepsTheNewestState(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	cc := newCartCache(time.Minute, clock.Now)
	v2 := Cart{ID: "u1:1", UserID: "u1", Enabled: true, Gen: 1, Version: 2}
	cc.put(v2)
	got, ok := cc.open("u1")
	require.True(t, ok)
	assert.Equal(t, 2, got.Version)

	cc.put(Cart{ID: "u1:1", UserID: "u1", Enabled: true, Gen: 1, Version: 1}) // an older read
	got, _ = cc.open("u1")
	assert.Equal(t, 2, got.Version)

	cc.heard("u1", 1, 3) // another instance stored version 3
	_, ok = cc.open("u1")
	assert.False(t, ok, "a newer state elsewhere drops the entry")
	cc.put(v2) // a read that started before the broadcast
	_, ok = cc.open("u1")
	assert.False(t, ok, "and an older read cannot bring it back")

	cc.put(Cart{ID: "u1:1", UserID: "u1", Enabled: false, Gen: 1, Version: 3})
	_, ok = cc.open("u1")
	assert.False(t, ok, "a closed cart is not the open cart")

	cc.put(Cart{ID: "u1:2", UserID: "u1", Enabled: true, Gen: 2, Version: 1}) // the next cart
	got, ok = cc.open("u1")
	require.True(t, ok, "a later cart is newer than any state of an earlier one")
	assert.Equal(t, 2, got.Gen)
	clock.Add(time.Minute + time.Millisecond)
	_, ok = cc.open("u1")
	assert.False(t, ok, "entries expire")
}

// A change made through one instance, and a checkout, are seen through another although the
// other answers GET /cart from its cache: the cart_changes broadcast, since the wait is shorter
// than the cache's TTL.
func TestOtherInstanceSeesCartChange(t *testing.T) {
	const deadline = cacheTTL * 2 / 3 // generous for a busy machine, and not long enough to expire
	db := testkit.Mongo(t)
	rabbitURL := testkit.RabbitURL(t)
	auth, catalog := testkit.NewAuth(t), newFakeCatalog(t)
	auth.Add("tok", "u1")
	env := map[string]string{
		"MONGO_URL": testkit.MongoURL(t), "MONGO_DB": db.Name(), "RABBIT_URL": rabbitURL,
		"AUTH_SERVICE_URL": auth.URL, "CATALOG_SERVICE_URL": catalog.URL,
	}
	first := &fixture{t: t, URL: testkit.RunService(t, Run, env, nil)}
	second := &fixture{t: t, URL: testkit.RunService(t, Run, env, nil)}

	assert.Empty(t, second.cart("GET", "/cart", "tok", nil).Articles) // now in second's cache
	first.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleA, "quantity": 2})
	testkit.Eventually(t, deadline, func() bool {
		c := second.cart("GET", "/cart", "tok", nil)
		return len(c.Articles) == 1 && c.Articles[0].Quantity == 2
	}, "the other instance sees the change")

	// A checkout through one instance: GET /cart there is at once a new, empty cart, and then on
	// the other.
	closed := first.cart("POST", "/cart/checkout", "tok", nil)
	next := first.cart("GET", "/cart", "tok", nil)
	assert.NotEqual(t, closed.ID, next.ID)
	assert.True(t, next.Enabled)
	assert.Empty(t, next.Articles)
	var seen contract.Cart
	testkit.Eventually(t, deadline, func() bool {
		seen = second.cart("GET", "/cart", "tok", nil)
		return seen.ID != closed.ID
	}, "the other instance sees the checkout")
	assert.Equal(t, next.ID, seen.ID)
	assert.Empty(t, seen.Articles)
}
