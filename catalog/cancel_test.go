package catalog

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// releasesOf counts the release moves of the order in the article's ledger.
func releasesOf(t testing.TB, store *Store, articleID, orderID string) int {
	t.Helper()
	n := 0
	for _, m := range ledger(t, store, articleID) {
		if m.Reason == moveRelease && m.OrderID == orderID {
			n++
		}
	}
	return n
}

func TestCancelAfterReservationReturnsStockOnce(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	a := newArticle(t, store, "A", 5)
	b := newArticle(t, store, "B", 5)
	lines := []OrderLine{{a, 2}, {b, 3}}
	r, err := store.ReserveOrder(ctx, "order-1", lines)
	require.NoError(t, err)
	require.Equal(t, stateReserved, r.State)
	assert.Equal(t, int64(3), balanceOf(t, store, a))

	for range 3 { // redelivered
		r, err = store.CancelOrder(ctx, "order-1", lines)
		require.NoError(t, err)
		assert.Equal(t, stateCancelled, r.State)
	}
	assert.Equal(t, int64(5), requireConsistentLedger(t, store, a))
	assert.Equal(t, int64(5), requireConsistentLedger(t, store, b))
	assert.Equal(t, 1, releasesOf(t, store, a, "order-1"))
	assert.Equal(t, 1, releasesOf(t, store, b, "order-1"))

	// A redelivered order_placed after the cancellation only repeats its answers: nothing reserved.
	r, err = store.ReserveOrder(ctx, "order-1", lines)
	require.NoError(t, err)
	for _, line := range r.Lines {
		assert.False(t, line.Reserved)
	}
	assert.Equal(t, int64(5), requireConsistentLedger(t, store, a))
}

func TestCancelBeforeReservationReservesNothing(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	a := newArticle(t, store, "A", 5)
	lines := []OrderLine{{a, 2}, {"not-an-article", 1}}
	r, err := store.CancelOrder(ctx, "order-1", lines)
	require.NoError(t, err)
	assert.Equal(t, stateCancelled, r.State)

	for range 2 {
		r, err = store.ReserveOrder(ctx, "order-1", lines)
		require.NoError(t, err)
		assert.NotEqual(t, stateReserved, r.State)
		for _, line := range r.Lines {
			assert.False(t, line.Reserved, line.ArticleID)
		}
	}
	assert.Equal(t, int64(5), requireConsistentLedger(t, store, a))
	assert.Equal(t, 0, releasesOf(t, store, a, "order-1"), "nothing was taken, nothing comes back")
}

// Reservations and cancellations of the same orders race on two instances (two stores on one
// database), each message delivered twice: every cancelled order ends holding nothing, every
// unit comes back exactly once, and the ledger never goes below zero.
func TestCancelRacesReservationOnTwoInstances(t *testing.T) {
	ctx := context.Background()
	db := testkit.Mongo(t)
	var stores [2]*Store
	for i := range stores {
		var err error
		stores[i], err = NewStore(ctx, db, testDeps(nil))
		require.NoError(t, err)
	}
	a := newArticle(t, stores[0], "A", 40)
	b := newArticle(t, stores[0], "B", 40)
	const orders = 12
	var wg sync.WaitGroup
	for i := range orders {
		id := fmt.Sprintf("order-%02d", i)
		lines := []OrderLine{{a, 2}, {b, 1}}
		for k := range 2 {
			wg.Go(func() {
				_, err := stores[(i+k)%2].ReserveOrder(ctx, id, lines)
				assert.NoError(t, err)
			})
			if i%3 != 0 { // every third order is not cancelled
				wg.Go(func() {
					_, err := stores[(i+k+1)%2].CancelOrder(ctx, id, lines)
					assert.NoError(t, err)
				})
			}
		}
	}
	wg.Wait()
	kept := 0
	for i := range orders {
		if i%3 == 0 {
			kept++
			continue
		}
		id := fmt.Sprintf("order-%02d", i)
		r, err := stores[0].CancelOrder(ctx, id, nil) // once more, after everything
		require.NoError(t, err)
		assert.NotEqual(t, stateReserved, r.State)
		assert.LessOrEqual(t, releasesOf(t, stores[0], a, id), 1, id)
		assert.LessOrEqual(t, releasesOf(t, stores[0], b, id), 1, id)
	}
	assert.Equal(t, int64(40-2*kept), requireConsistentLedger(t, stores[0], a))
	assert.Equal(t, int64(40-kept), requireConsistentLedger(t, stores[0], b))
}

func TestCancelResumesAfterCrash(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	a := newArticle(t, store, "A", 4)
	b := newArticle(t, store, "B", 4)
	lines := []OrderLine{{a, 1}, {b, 2}}
	_, err := store.ReserveOrder(ctx, "order-1", lines)
	require.NoError(t, err)

	crashAt(store, "/release", 2) // stops after giving back a
	_, err = store.CancelOrder(ctx, "order-1", lines)
	require.ErrorIs(t, err, errCrash)
	assert.Equal(t, int64(4), balanceOf(t, store, a))
	assert.Equal(t, int64(2), balanceOf(t, store, b))

	store.beforeMove = nil
	r, err := store.CancelOrder(ctx, "order-1", lines)
	require.NoError(t, err)
	assert.Equal(t, stateCancelled, r.State)
	assert.Equal(t, int64(4), requireConsistentLedger(t, store, a))
	assert.Equal(t, int64(4), requireConsistentLedger(t, store, b))
	assert.Equal(t, 1, releasesOf(t, store, a, "order-1"))
}

// Over RabbitMQ: order_cancelled after order_placed returns the stock once, however often it
// comes; one before order_placed makes the reservation take nothing (answers invalid).
func TestOrderCancelledOverRabbitMQ(t *testing.T) {
	c := startCatalog(t)
	ctx := context.Background()
	a := newArticle(t, c.store, "A", 5)
	order := c.collect(t, "order")
	lines := []contract.OrderLine{{ArticleID: a, Quantity: 2}}

	placed := contract.OrderPlaced{OrderID: "order-1", CartID: "cart-1", UserID: "u1", Articles: lines}
	require.NoError(t, bus.Send(ctx, c.bus, "sell_flow", "order_placed", contract.TypeOrderPlaced, placed, bus.ReplyTo("order", "order")))
	r := replyOf[contract.ArticleData](t, next(t, order), contract.TypeArticleData)
	require.True(t, r.Valid)
	cancelled := contract.OrderCancelled{OrderID: "order-1", UserID: "u1", Reason: "payment_deadline", Articles: lines}
	for range 3 {
		require.NoError(t, bus.Send(ctx, c.bus, "sell_flow", "order_cancelled", contract.TypeOrderCancelled, cancelled))
	}
	testkit.Eventually(t, 30*time.Second, func() bool { return balanceOf(t, c.store, a) == 5 }, "stock returned")

	early := contract.OrderCancelled{OrderID: "order-2", UserID: "u1", Reason: "too_many_unpaid_orders", Articles: lines}
	require.NoError(t, bus.Send(ctx, c.bus, "sell_flow", "order_cancelled", contract.TypeOrderCancelled, early))
	testkit.Eventually(t, 30*time.Second, func() bool {
		r, found, err := c.store.reservation(ctx, "order-2")
		require.NoError(t, err)
		return found && r.State == stateCancelled
	}, "cancellation recorded")
	placed.OrderID = "order-2"
	require.NoError(t, bus.Send(ctx, c.bus, "sell_flow", "order_placed", contract.TypeOrderPlaced, placed, bus.ReplyTo("order", "order")))
	r = replyOf[contract.ArticleData](t, next(t, order), contract.TypeArticleData)
	assert.Equal(t, "order-2", r.ReferenceID)
	assert.False(t, r.Valid, "nothing reserved for a cancelled order")
	assert.Equal(t, int64(5), requireConsistentLedger(t, c.store, a))
	assert.Equal(t, 1, releasesOf(t, c.store, a, "order-1"))
}

// An order_placed naming no article (an order orders refused before any reservation) reserves
// nothing and is recorded.
func TestEmptyOrderReservesNothing(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	a := newArticle(t, store, "A", 5)
	for range 2 {
		r, err := store.ReserveOrder(ctx, "order-1", nil)
		require.NoError(t, err)
		assert.Empty(t, r.Lines)
	}
	assert.Equal(t, int64(5), requireConsistentLedger(t, store, a))
}
