package orders

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// A user's orders are read by _id from their own list: other users' orders cost nothing, a
// lagging or missing head is looked past, and an order is listed once. The orders come from the
// listings' cache when it holds them: as this instance's changes left them, or as it last read
// them while no other instance changed them.
func TestOrdersOfUserByList(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	in := newListingInstances(t, db, newBroker(t), 2)
	a, b := in[0], in[1] // a changes the orders, b only lists them
	svc, store := a.svc, a.store

	first := mustPlace(t, svc, "a:1", "alice", Line{"A", 1})
	second := mustPlace(t, svc, "a:2", "alice", Line{"B", 2})
	_, _, err := svc.Place(ctx, Placed{CartID: "a:2", UserID: "alice", Lines: []Line{{"B", 2}}}) // redelivered
	require.NoError(t, err)
	list := func(x *listingInstance) []string {
		var ids []string
		for _, o := range x.list(t, "alice") {
			ids = append(ids, o.ID)
		}
		return ids
	}
	want := []string{second.ID, first.ID} // newest first
	cost := trips.During(func() { assert.Equal(t, want, list(a)) })
	assert.LessOrEqual(t, cost, int64(1+2+1), "head, each entry, a miss past them; the orders as a's changes left them")
	cost = trips.During(func() { assert.Equal(t, want, list(a)) })
	assert.LessOrEqual(t, cost, int64(1), "the entries and orders known: a miss past them")
	// On b, a placed order has no projection: its lookup misses, then its events are read by
	// _id (the placed event, a miss).
	cost = trips.During(func() { assert.Equal(t, want, list(b)) })
	assert.LessOrEqual(t, cost, int64(2+2*4), "head, a miss, then each entry and its order (placed: a miss, placed, a miss)")
	cost = trips.During(func() { assert.Equal(t, want, list(b)) })
	assert.LessOrEqual(t, cost, int64(1), "the entries and orders known: a miss past them")

	for i := range 30 {
		mustPlace(t, svc, fmt.Sprintf("b:%d", i), "bob", Line{"A", 1})
	}
	assert.LessOrEqual(t, trips.During(func() { assert.Equal(t, want, list(a)) }), int64(1), "after 30 orders of another user")
	assert.LessOrEqual(t, trips.During(func() { assert.Equal(t, want, list(b)) }), int64(1), "after 30 orders of another user")

	// An answer makes the first order invalid; a new order of alice's is found past the entries.
	invalid, err := svc.RecordArticleData(ctx, first.ID, ArticleData{ArticleID: "A", Valid: false})
	require.NoError(t, err)
	third := mustPlace(t, svc, "a:3", "alice", Line{"C", 1})
	want = []string{third.ID, second.ID, first.ID}
	assert.LessOrEqual(t, trips.During(func() { assert.Equal(t, want, list(a)) }), int64(1), "a miss (a listed the new entry); the orders as a's changes left them")
	b.hears(t, invalid.ID, invalid.Version)
	assert.LessOrEqual(t, trips.During(func() { assert.Equal(t, want, list(b)) }), int64(2+3+1), "the new entry and a miss past it, the new order (placed: a miss, placed, a miss), the changed one (its projection)")
	for _, x := range in {
		assert.LessOrEqual(t, trips.During(func() { assert.Equal(t, want, list(x)) }), int64(1), "a miss past the entries")
		assert.Equal(t, StatusInvalid, x.list(t, "alice")[2].Status)
	}

	_, err = store.userOrderHeads.DeleteOne(ctx, bson.M{"_id": "alice"})
	require.NoError(t, err)
	c, err := NewStore(ctx, db, time.Now) // an instance that knows nothing yet
	require.NoError(t, err)
	listed, err := c.OrdersOfUser(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, []Order{third, second, invalid}, listed, "without a head")

	// A forged place_order naming alice for bob's cart lists nothing of bob's for her.
	_, _, err = svc.Place(ctx, Placed{CartID: "b:0", UserID: "alice", Lines: []Line{{"A", 1}}})
	require.NoError(t, err)
	assert.Equal(t, want, list(a))
	assert.Equal(t, want, list(b))
}
