package mongox_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

type link struct {
	ID string `bson:"_id"`
	N  int    `bson:"n"`
}

func nextLink(l link) any { return fmt.Sprint("k/", l.N+1) }

// A chain is read from a lagging head by one lookup per document after it, and one miss.
func TestChainFromAHead(t *testing.T) {
	db, trips := testkit.CountingMongo(t)
	coll := db.Collection("links")
	ctx := context.Background()
	for n := 1; n <= 5; n++ {
		_, err := coll.InsertOne(ctx, link{ID: fmt.Sprint("k/", n), N: n})
		require.NoError(t, err)
	}

	head, found, err := mongox.FindID[link](ctx, coll, "k/3")
	require.NoError(t, err)
	require.True(t, found)
	_, found, err = mongox.FindID[link](ctx, coll, "k/9")
	require.NoError(t, err)
	assert.False(t, found)

	var after []link
	cost := trips.During(func() { after, err = mongox.After(ctx, coll, head, nextLink) })
	require.NoError(t, err)
	assert.Equal(t, []link{{"k/4", 4}, {"k/5", 5}}, after)
	assert.Equal(t, int64(3), cost, "two documents and a miss")

	var latest link
	var moved bool
	cost = trips.During(func() { latest, moved, err = mongox.LatestAfter(ctx, coll, head, nextLink) })
	require.NoError(t, err)
	assert.True(t, moved)
	assert.Equal(t, link{"k/5", 5}, latest)
	assert.LessOrEqual(t, cost, int64(3))

	latest, moved, err = mongox.LatestAfter(ctx, coll, link{N: 5}, nextLink)
	require.NoError(t, err)
	assert.False(t, moved, "nothing after the last")
	assert.Equal(t, 5, latest.N)
	none, err := mongox.After(ctx, coll, link{N: 0}, func(link) any { return "other/1" })
	require.NoError(t, err)
	assert.Empty(t, none)
}
