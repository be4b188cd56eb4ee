package cart

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/quota"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// A start (NewStore and the quota's indexes, as Run does) reads no data: no command selects
// documents of any collection, whatever the history stored.
func TestStartReadsNoData(t *testing.T) {
	ctx := context.Background()
	db, commands := testkit.RecordingMongo(t)
	f := newFixtureOn(t, db)
	carts := 0
	addHistory := func() {
		for range 3 {
			carts++
			user := fmt.Sprintf("u%d", carts%4)
			f.auth.Add(user, user)
			f.fill(user)
			f.cart("POST", "/cart/article", user, map[string]any{"articleId": articleB, "quantity": 2})
			f.cart("POST", "/cart/checkout", user, nil)
		}
	}
	start := func() []testkit.Command {
		return commands.During(func() {
			store, err := NewStore(ctx, db)
			require.NoError(t, err)
			require.NoError(t, quota.NewSlots(store.QuotaSlots(), time.Now).EnsureIndexes(ctx))
		})
	}

	addHistory()
	first := start()
	for _, c := range first {
		assert.False(t, c.Reads(), "a start must not read data: %s %s %v", c.Name, c.Collection, c.Filters)
	}
	for range 3 {
		addHistory()
	}
	assert.Len(t, start(), len(first), "a start after four times the history")
}
