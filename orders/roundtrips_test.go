package orders

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

func TestCheckoutRoundTripsBaseline(t *testing.T) {
	db, counter := testkit.CountingMongo(t)
	store, err := NewStore(context.Background(), db)
	require.NoError(t, err)
	svc := NewService(store, bus.NewMemory(contract.Topology), testkit.Logger(t))
	ctx := context.Background()
	var o Order
	n := counter.During(func() {
		var err error
		o, _, err = svc.Place(ctx, Placed{CartID: "c1", UserID: "u1", Lines: []Line{{"A", 1}, {"B", 1}, {"C", 1}}})
		require.NoError(t, err)
	})
	t.Logf("place: %d", n)
	n = counter.During(func() { require.NoError(t, svc.PublishOrderPlaced(ctx, o)) })
	t.Logf("publish: %d", n)
	for _, a := range []string{"A", "B", "C"} {
		n = counter.During(func() {
			_, err := svc.RecordArticleData(ctx, o.ID, ArticleData{ArticleID: a, Valid: true, Price: 100})
			require.NoError(t, err)
		})
		t.Logf("article: %d", n)
	}
}
