package orders

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// listingInstance is one orders instance of a test, wired as Run wires it: its changes go out
// on the order_changes feed, and its subscription to that exchange keeps its listings' cache
// current.
type listingInstance struct {
	svc   *Service
	store *Store
	b     bus.Bus
	stop  func() // stops the subscription, waiting for it to end
}

// newListingInstances returns n instances over db sharing the in-process broker b, each
// subscribed to order_changes.
func newListingInstances(t *testing.T, db *mongo.Database, b bus.Bus, n int) []*listingInstance {
	t.Helper()
	instances := make([]*listingInstance, n)
	for i := range instances {
		store, err := NewStore(context.Background(), db, time.Now)
		require.NoError(t, err)
		feed := bus.NewFeed(testkit.Logger(t), b, contract.ExchangeOrderChanges, typeOrderChanged)
		svc := NewService(store, ServiceConfig{Bus: b, Log: testkit.Logger(t), Broadcast: feed.Add})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = feed.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		instances[i] = &listingInstance{svc: svc, store: store, b: b}
		instances[i].listen(t)
	}
	return instances
}

// listen starts the instance's order_changes subscription and waits until it has started.
func (in *listingInstance) listen(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started, done := make(chan struct{}), make(chan struct{})
	changes := bus.Subscription{Exchange: contract.ExchangeOrderChanges, OnStart: func() {
		in.store.lists.orders.Flush()
		close(started)
	}}
	go func() {
		defer close(done)
		assert.NoError(t, in.b.Consume(ctx, changes, handleOrderChanged(in.store.lists.orders)))
	}()
	var once sync.Once
	in.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(in.stop)
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the order_changes subscription did not start")
	}
}

// list returns the user's orders as the instance lists them.
func (in *listingInstance) list(t *testing.T, userID string) []Order {
	t.Helper()
	orders, err := in.store.OrdersOfUser(context.Background(), userID)
	require.NoError(t, err)
	return orders
}

// hears waits until the instance has heard of version of the order (its cache no longer
// holds an older one).
func (in *listingInstance) hears(t *testing.T, orderID string, version int) {
	t.Helper()
	testkit.Eventually(t, broadcastDeadline, func() bool {
		heard, ok := in.store.lists.orders.Version(orderID)
		return ok && heard >= version
	}, "order %s version %d not heard of", orderID, version)
}

func newBroker(t *testing.T) bus.Bus {
	b := bus.NewMemory(contract.Topology)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// broadcastDeadline bounds the wait for a broadcast to arrive: generous, so that a slow
// machine does not fail a test that only checks the broadcast arrives.
const broadcastDeadline = 30 * time.Second

// The listings' cache is the versioned cache with its TTL, except for settled orders.
func TestOrderCacheKeepsSettledOrders(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	c := newOrderCache(time.Minute, clock.Now)
	answered := []OrderArticle{{ArticleID: "A", IsValidated: true, IsValid: true}}
	validated := Order{ID: "o1", Status: StatusValidated, Version: 2, Articles: answered}
	settled := Order{ID: "o2", Status: StatusDelivered, Version: 3, Articles: answered}
	require.True(t, settled.settled())
	c.Put(validated.ID, validated.Version, validated)
	c.Put(settled.ID, settled.Version, settled)
	_, ok := c.Get("o1")
	assert.True(t, ok)
	clock.Add(time.Minute + time.Millisecond)
	_, ok = c.Get("o1")
	assert.False(t, ok, "entries expire")
	got, ok := c.Get("o2")
	assert.True(t, ok, "except settled orders: nothing can change them")
	assert.Equal(t, settled, got)
}

// A payment made on one instance shows in the listings of that instance at once, and of
// another, which had the order cached, once the order_changes broadcast arrives.
func TestListingSeesAPaymentOnAnotherInstance(t *testing.T) {
	in := newListingInstances(t, testkit.Mongo(t), newBroker(t), 2)
	a, b := in[0], in[1]
	o := mustValidate(t, a.svc, mustPlace(t, a.svc, "cart-1", "u1", Line{"A", 2}), 150)
	require.Equal(t, StatusValidated, o.Status)
	for _, x := range in {
		listed := x.list(t, "u1")
		require.Len(t, listed, 1)
		require.Equal(t, StatusValidated, listed[0].Status, "now cached")
	}

	paid, err := b.svc.Pay(context.Background(), owner("u1"), o.ID, Payment{Method: Cash, Amount: o.TotalPrice})
	require.NoError(t, err)
	require.Equal(t, StatusPaymentDefined, paid.Status)
	assert.Equal(t, []Order{paid}, b.list(t, "u1"), "at once on the instance that took the payment")
	testkit.Eventually(t, broadcastDeadline, func() bool { return a.list(t, "u1")[0].Status == StatusPaymentDefined },
		"the other instance did not see the payment")
	assert.Equal(t, []Order{paid}, a.list(t, "u1"))
}

// A user with 40 validated orders: listing them again costs a look past the entries known,
// whatever their number, and whatever other users order meanwhile; an order changed elsewhere
// costs its own lookup.
func TestListingCostsTheOrdersChangedOnly(t *testing.T) {
	db, trips := testkit.CountingMongo(t)
	in := newListingInstances(t, db, newBroker(t), 2)
	a, b := in[0], in[1]
	var orders []Order
	for i := range 40 { // placed and validated on b: a knows nothing of them
		orders = append(orders, mustValidate(t, b.svc, mustPlace(t, b.svc, fmt.Sprint("alice:", i), "alice", Line{"A", 1}), 100))
	}
	cost := trips.During(func() { require.Len(t, a.list(t, "alice"), 40) })
	assert.LessOrEqual(t, cost, int64(1+40+1+40), "the head, the 40 entries before it, a miss past them, each order's projection")
	cost = trips.During(func() { require.Len(t, a.list(t, "alice"), 40) })
	assert.LessOrEqual(t, cost, int64(1), "a miss past the entries known")
	cost = trips.During(func() { require.Len(t, b.list(t, "alice"), 40) })
	assert.LessOrEqual(t, cost, int64(1+40+1), "on b: the head, the entries (b listed them, but had no list cached), a miss; the orders as b's changes left them")

	var others []Order
	for i := range 20 { // other users' orders, on both instances
		x := in[i%2]
		others = append(others, mustValidate(t, x.svc, mustPlace(t, x.svc, fmt.Sprint("bob:", i), fmt.Sprint("bob", i%3), Line{"A", 1}), 100))
	}
	for _, o := range others {
		a.hears(t, o.ID, o.Version)
		b.hears(t, o.ID, o.Version)
	}
	for _, x := range in {
		cost = trips.During(func() { require.Len(t, x.list(t, "alice"), 40) })
		assert.LessOrEqual(t, cost, int64(1), "after 20 orders of other users")
	}

	paid, err := b.svc.Pay(context.Background(), owner("alice"), orders[7].ID, Payment{Method: Debit, Amount: orders[7].TotalPrice})
	require.NoError(t, err)
	a.hears(t, paid.ID, paid.Version)
	var listed []Order
	cost = trips.During(func() { listed = a.list(t, "alice") })
	assert.LessOrEqual(t, cost, int64(1+1), "a miss, and the order paid on b (its projection)")
	assert.Contains(t, listed, paid)
	cost = trips.During(func() { listed = a.list(t, "alice") })
	assert.LessOrEqual(t, cost, int64(1), "a miss: the paid order is cached again, settled")
}

// Broadcasts sent while an instance's subscription is down are lost: when it starts again, the
// listings' cache is emptied, so what changed meanwhile is read from the store.
func TestListingCacheEmptiedWhenTheSubscriptionRestarts(t *testing.T) {
	db, trips := testkit.CountingMongo(t)
	in := newListingInstances(t, db, newBroker(t), 2)
	a, b := in[0], in[1]
	first := mustValidate(t, a.svc, mustPlace(t, a.svc, "cart-1", "u1", Line{"A", 1}), money.Cents(100))
	second := mustPlace(t, a.svc, "cart-2", "u1", Line{"B", 1})
	require.Len(t, a.list(t, "u1"), 2)
	require.Equal(t, int64(1), trips.During(func() { a.list(t, "u1") }), "cached: a miss past the entries")

	a.stop() // a's subscription is lost
	paid, err := b.svc.Pay(context.Background(), owner("u1"), first.ID, Payment{Method: Cash, Amount: first.TotalPrice})
	require.NoError(t, err)
	assert.Equal(t, []Order{second, first}, a.list(t, "u1"), "a heard nothing: the payment is not seen yet (until the TTL)")

	a.listen(t) // OnStart
	assert.Zero(t, a.store.lists.orders.Len(), "the cache is empty")
	var listed []Order
	cost := trips.During(func() { listed = a.list(t, "u1") })
	assert.Equal(t, []Order{second, paid}, listed, "the payment made while a heard nothing")
	assert.LessOrEqual(t, cost, int64(1+1+3), "a miss past the entries (they never change: still cached), the paid order's projection, the placed one (no projection, its event, a miss)")
}
