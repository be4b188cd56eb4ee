package cart

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/quota"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// quotaStart is 25 seconds into a minute.
var quotaStart = time.Date(2026, 12, 6, 10, 15, 25, 0, time.UTC)

// withCheckoutQuota makes a fixture count checkouts against perMinute on its store, at clk's
// time.
func withCheckoutQuota(t *testing.T, clk *testkit.Clock, perMinute int) func(*ServiceDeps) {
	return func(d *ServiceDeps) {
		slots := quota.NewSlots(d.Store.QuotaSlots(), clk.Now)
		require.NoError(t, slots.EnsureIndexes(context.Background()))
		d.Checkouts, d.CheckoutsPerMinute = slots, perMinute
	}
}

// fill puts one line in the user's cart, so that a checkout of it can succeed.
func (f *fixture) fill(token string) {
	f.t.Helper()
	f.cart("POST", "/cart/article", token, map[string]any{"articleId": articleA, "quantity": 1})
}

// requireRateLimited checks a checkout refused by the quota.
func requireRateLimited(t *testing.T, f *fixture, token, retryAfter string) {
	t.Helper()
	rec := testkit.Serve(t, f.URL, testkit.Request{Method: "POST", Path: "/cart/checkout", Token: token})
	require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
	assert.Equal(t, retryAfter, rec.Header().Get("Retry-After"))
	var body struct{ Error, Code string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "rate_limited", body.Code)
	assert.Contains(t, body.Error, "3 checkouts per minute")
}

func TestCheckoutQuota(t *testing.T) {
	t.Run("the limit+1-th checkout is refused until the minute ends; others are served", func(t *testing.T) {
		clk := testkit.NewClock(quotaStart)
		f := newFixtureOn(t, testkit.Mongo(t), withCheckoutQuota(t, clk, 3))
		f.auth.Add("ann", "ann")
		f.auth.Add("bob", "bob")
		orders := newCounter()
		testkit.Consume(t, f.bus, bus.Subscription{Queue: "order"}, orders.handle)

		for range 3 {
			f.fill("ann")
			assert.False(t, f.cart("POST", "/cart/checkout", "ann", nil).Enabled)
		}
		f.fill("ann")
		open := f.cart("GET", "/cart", "ann", nil)
		requireRateLimited(t, f, "ann", "35")
		after := f.cart("GET", "/cart", "ann", nil)
		assert.Equal(t, open.ID, after.ID, "the refused checkout left the cart open")
		assert.True(t, after.Enabled)
		assert.Equal(t, 3, f.countStates(bson.D{{Key: "userId", Value: "ann"}, {Key: "enabled", Value: false}}), "no closed state stored")

		f.fill("bob")
		assert.False(t, f.cart("POST", "/cart/checkout", "bob", nil).Enabled, "another user is served")

		clk.Set(quotaStart.Truncate(time.Minute).Add(time.Minute - time.Millisecond))
		requireRateLimited(t, f, "ann", "1")
		clk.Set(quotaStart.Truncate(time.Minute).Add(time.Minute)) // the next minute
		assert.False(t, f.cart("POST", "/cart/checkout", "ann", nil).Enabled)

		orders.drain(t, f.bus, "order", "order")
		assert.Equal(t, 5, orders.count("place_order"), "place_order for the allowed checkouts only")
	})

	t.Run("two instances share the count", func(t *testing.T) {
		db := testkit.Mongo(t)
		clk := testkit.NewClock(quotaStart)
		instances := []*fixture{newFixtureOn(t, db, withCheckoutQuota(t, clk, 3)), newFixtureOn(t, db, withCheckoutQuota(t, clk, 3))}
		for _, f := range instances {
			f.auth.Add("ann", "ann")
		}
		for i := range 3 {
			f := instances[i%2]
			f.fill("ann")
			status, raw := f.do("POST", "/cart/checkout", "ann", nil)
			require.Equal(t, http.StatusOK, status, string(raw))
		}
		instances[1].fill("ann")
		requireRateLimited(t, instances[1], "ann", "35")
		requireRateLimited(t, instances[0], "ann", "35")
	})

	t.Run("0 turns it off and costs no round trip", func(t *testing.T) {
		db, trips := testkit.CountingMongo(t)
		clk := testkit.NewClock(quotaStart)
		unlimited, off, on := newFixtureOn(t, db), newFixtureOn(t, db, withCheckoutQuota(t, clk, 0)),
			newFixtureOn(t, db, withCheckoutQuota(t, clk, 5))
		unlimited.auth.Add("u1", "u1")
		off.auth.Add("u2", "u2")
		on.auth.Add("u3", "u3")
		checkout := func(f *fixture, token string) int64 {
			f.fill(token)
			return trips.During(func() {
				status, raw := f.do("POST", "/cart/checkout", token, nil)
				require.Equal(t, http.StatusOK, status, string(raw))
			})
		}
		free := checkout(unlimited, "u1")
		assert.Equal(t, free, checkout(off, "u2"), "a quota of 0 costs nothing")
		for range 12 {
			checkout(off, "u2")
		}
		n, err := off.store.QuotaSlots().CountDocuments(context.Background(), bson.D{})
		require.NoError(t, err)
		assert.Zero(t, n, "nothing counted")

		assert.Equal(t, free+1, checkout(on, "u3"), "a quota on costs one insert")
	})
}

func TestLoadConfigCheckouts(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	cfg, err := LoadConfig(env(nil))
	require.NoError(t, err)
	assert.Equal(t, 10, cfg.CheckoutsPerMinute)
	cfg, err = LoadConfig(env(map[string]string{"CART_CHECKOUTS_PER_MINUTE": "0"}))
	require.NoError(t, err)
	assert.Equal(t, 0, cfg.CheckoutsPerMinute)
	for _, bad := range []string{"-1", "ten"} {
		_, err := LoadConfig(env(map[string]string{"CART_CHECKOUTS_PER_MINUTE": bad}))
		assert.Error(t, err, bad)
	}
}
