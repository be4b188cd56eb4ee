package cart

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// Latest is found by _id lookups from the user's head, at a cost that does not grow with the
// carts and versions stored, and exactly even when the head lags or is missing.
func TestLatestByHead(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	store, err := NewStore(ctx, db)
	require.NoError(t, err)
	latest := func() Cart {
		c, err := store.Latest(ctx, "u1")
		require.NoError(t, err)
		return c
	}

	_, err = store.Latest(ctx, "u1")
	require.ErrorIs(t, err, errs.NotFound)

	// Two carts: the first changed and closed, the second open.
	c := newCart("u1", 1, time.Now().UTC())
	for range 3 {
		c = c.next(time.Now().UTC())
		require.NoError(t, store.Append(ctx, c))
	}
	c = c.next(time.Now().UTC())
	c.Enabled = false
	require.NoError(t, store.Append(ctx, c))
	second := newCart("u1", 2, time.Now().UTC()).next(time.Now().UTC())
	require.NoError(t, store.Append(ctx, second))

	assert.Equal(t, int64(2), trips.During(func() { assert.Equal(t, second.ID, latest().ID) }),
		"the head, then one miss")
	for range 20 {
		second = second.next(time.Now().UTC())
		require.NoError(t, store.Append(ctx, second))
	}
	assert.Equal(t, int64(2), trips.During(func() { assert.Equal(t, second.Version, latest().Version) }),
		"the same after 20 more versions")

	// A head left on the first cart's first version: the states after it are looked up.
	first, err := store.Get(ctx, "u1:1")
	require.NoError(t, err)
	first.Version, first.Enabled = 1, true
	_, err = store.heads.ReplaceOne(ctx, bson.M{"_id": "u1"}, headDoc{UserID: "u1", State: toDoc(first)})
	require.NoError(t, err)
	got := latest()
	assert.Equal(t, second.ID, got.ID)
	assert.Equal(t, second.Version, got.Version)

	// No head at all: found from the user's first cart.
	_, err = store.heads.DeleteOne(ctx, bson.M{"_id": "u1"})
	require.NoError(t, err)
	assert.Equal(t, second.Version, latest().Version)
}

// An order is recorded on the closed state found by _id from the cart's pointer; without the
// pointer (its writer stopped after the state), by a query, with the same rules.
func TestRecordOrderByPointerOrQuery(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	store, err := NewStore(ctx, db)
	require.NoError(t, err)
	closeCart := func(user string) Cart {
		c := newCart(user, 1, time.Now().UTC()).next(time.Now().UTC())
		require.NoError(t, store.Append(ctx, c))
		c = c.next(time.Now().UTC())
		c.Enabled = false
		require.NoError(t, store.Append(ctx, c))
		return c
	}
	orderOf := func(id string) string {
		c, err := store.Get(ctx, id)
		require.NoError(t, err)
		return c.OrderID
	}

	byPointer := closeCart("u1")
	var found bool
	assert.Equal(t, int64(3), trips.During(func() {
		found, err = store.RecordOrder(ctx, byPointer.ID, "u1", "order-1")
	}), "the pointer, the closed state, the update: all by _id")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "order-1", orderOf(byPointer.ID))

	byQuery := closeCart("u2")
	_, err = store.closed.DeleteOne(ctx, bson.M{"_id": byQuery.ID})
	require.NoError(t, err)
	for name, c := range map[string]Cart{"pointer": byPointer, "query": byQuery} {
		user := c.UserID
		found, err = store.RecordOrder(ctx, c.ID, "someone-else", "order-x")
		require.NoError(t, err)
		assert.False(t, found, "%s: another user's cart", name)
		found, err = store.RecordOrder(ctx, c.ID, user, "order-2")
		require.NoError(t, err)
		assert.Equal(t, name == "query", found, "%s: recorded unless another order is", name)
		found, err = store.RecordOrder(ctx, c.ID, user, "order-2")
		require.NoError(t, err)
		assert.Equal(t, name == "query", found, "%s: again, harmless", name)
	}
	assert.Equal(t, "order-1", orderOf(byPointer.ID), "a second order does not replace the first")
	assert.Equal(t, "order-2", orderOf(byQuery.ID))

	// An open cart has no pointer and records nothing.
	open := newCart("u3", 1, time.Now().UTC()).next(time.Now().UTC())
	require.NoError(t, store.Append(ctx, open))
	found, err = store.RecordOrder(ctx, open.ID, "u3", "order-3")
	require.NoError(t, err)
	assert.False(t, found)
}
