package orders

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// A user's orders are read by _id from their own list: other users' orders cost nothing, a
// lagging or missing head is looked past, and an order is listed once.
func TestOrdersOfUserByList(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	store, err := NewStore(ctx, db)
	require.NoError(t, err)
	svc := NewService(store, nil, testkit.Logger(t))

	first := mustPlace(t, svc, "a:1", "alice", Line{"A", 1})
	second := mustPlace(t, svc, "a:2", "alice", Line{"B", 2})
	_, _, err = svc.Place(ctx, Placed{CartID: "a:2", UserID: "alice", Lines: []Line{{"B", 2}}}) // redelivered
	require.NoError(t, err)
	list := func() []string {
		orders, err := store.OrdersOfUser(ctx, "alice")
		require.NoError(t, err)
		var ids []string
		for _, o := range orders {
			ids = append(ids, o.ID)
		}
		return ids
	}
	want := []string{second.ID, first.ID} // newest first
	cost := trips.During(func() { assert.Equal(t, want, list()) })
	// A placed order has no projection: its lookup misses, then its events are read by _id
	// (the placed event, a miss).
	assert.Equal(t, int64(2+2*4), cost, "head, a miss, then each entry and its order (placed: a miss, placed, a miss)")
	cost = trips.During(func() { assert.Equal(t, want, list()) })
	assert.Equal(t, int64(1+2*3), cost, "the entries known: a miss past them, then each order still moving")

	for i := range 30 {
		mustPlace(t, svc, fmt.Sprintf("b:%d", i), "bob", Line{"A", 1})
	}
	assert.Equal(t, cost, trips.During(func() { assert.Equal(t, want, list()) }), "after 30 orders of another user")

	// An answer that makes the first order invalid with every article answered settles it:
	// later listings take it from the cache. A new order of alice's is found past the entries.
	_, err = svc.RecordArticleData(ctx, first.ID, ArticleData{ArticleID: "A", Valid: false})
	require.NoError(t, err)
	third := mustPlace(t, svc, "a:3", "alice", Line{"C", 1})
	want = []string{third.ID, second.ID, first.ID}
	assert.Equal(t, int64(1+2*3+1), trips.During(func() { assert.Equal(t, want, list()) }),
		"a miss (this instance listed the new entry), the two placed orders, the first just settled (its projection)")
	assert.Equal(t, int64(1+2*3), trips.During(func() { assert.Equal(t, want, list()) }), "a miss, then the two orders still moving")
	orders, err := store.OrdersOfUser(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, StatusInvalid, orders[2].Status, "the settled order as it was stored")

	_, err = store.userOrderHeads.DeleteOne(ctx, bson.M{"_id": "alice"})
	require.NoError(t, err)
	assert.Equal(t, want, list(), "without a head")

	// A forged place_order naming alice for bob's cart lists nothing of bob's for her.
	_, _, err = svc.Place(ctx, Placed{CartID: "b:0", UserID: "alice", Lines: []Line{{"A", 1}}})
	require.NoError(t, err)
	assert.Equal(t, want, list())
}
