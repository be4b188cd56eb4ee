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
