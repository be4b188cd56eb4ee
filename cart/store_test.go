package cart

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
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
	var closed Cart
	assert.LessOrEqual(t, trips.During(func() { closed = latest() }), int64(3),
		"the head (still the last open state), the closed state after it, one miss")
	assert.Equal(t, c.ID, closed.ID)
	assert.False(t, closed.Enabled)
	second := newCart("u1", 2, time.Now().UTC()).next(time.Now().UTC())
	require.NoError(t, store.Append(ctx, second))

	assert.LessOrEqual(t, trips.During(func() { assert.Equal(t, second.ID, latest().ID) }), int64(2),
		"the head, then one miss")
	for range 20 {
		second = second.next(time.Now().UTC())
		require.NoError(t, store.Append(ctx, second))
	}
	assert.LessOrEqual(t, trips.During(func() { assert.Equal(t, second.Version, latest().Version) }), int64(2),
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

// An order is recorded on the closed cart's pointer, by _id, in one write; without the pointer
// (its writer stopped after the state), the closed state is found by a query and the pointer
// written, with the same rules.
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
	assert.LessOrEqual(t, trips.During(func() {
		found, err = store.RecordOrder(ctx, byPointer.ID, "u1", "order-1")
	}), int64(1), "one update of the pointer, by _id")
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
	n, err := store.closed.CountDocuments(ctx, bson.M{"_id": byQuery.ID, "orderId": "order-2"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "the query wrote the missing pointer, with the order")

	// An open cart has no pointer and records nothing.
	open := newCart("u3", 1, time.Now().UTC()).next(time.Now().UTC())
	require.NoError(t, store.Append(ctx, open))
	found, err = store.RecordOrder(ctx, open.ID, "u3", "order-3")
	require.NoError(t, err)
	assert.False(t, found)
}

// A checkout costs the cart service three round trips to the store: from a warm cache, the
// closed state and its pointer; on order_placed, the order set on the pointer. A line change
// from a warm cache costs its state and the head.
func TestCheckoutRoundTrips(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	store, err := NewStore(ctx, db)
	require.NoError(t, err)
	svc := NewService(ServiceDeps{Store: store, Bus: testkit.Rabbit(t), Catalog: newCatalogClient(newFakeCatalog(t).URL),
		Log: testkit.Logger(t), Now: time.Now})

	_, err = svc.Add(ctx, "u1", articleA, 1) // cold: reads the store first
	require.NoError(t, err)
	var c Cart
	assert.LessOrEqual(t, trips.During(func() { c, err = svc.Add(ctx, "u1", articleB, 1) }), int64(2),
		"warm: the state and the head")
	require.NoError(t, err)
	assert.Len(t, c.Articles, 2)
	// Catalog's answer about the line: from the cache too. A repeated one changes nothing, which
	// is only trusted once the store has the same cart.
	valid := contract.ArticleValid{ReferenceID: c.ID, ArticleID: articleB, Valid: true}
	assert.LessOrEqual(t, trips.During(func() { require.NoError(t, svc.recordValidation(ctx, valid)) }), int64(2),
		"warm: the state and the head")
	assert.LessOrEqual(t, trips.During(func() { require.NoError(t, svc.recordValidation(ctx, valid)) }), int64(2),
		"a repeat: the head and a miss after it")
	c, err = svc.Current(ctx, "u1")
	require.NoError(t, err)
	line := c.Articles[slices.IndexFunc(c.Articles, func(l Line) bool { return l.ArticleID == articleB })]
	assert.True(t, line.Validated && line.Valid)

	var closed Cart
	checkout := trips.During(func() { closed, err = svc.Checkout(ctx, "u1") })
	require.NoError(t, err)
	assert.LessOrEqual(t, checkout, int64(2), "the closed state and its pointer")
	assert.Equal(t, c.Articles, closed.Articles)
	placed, err := json.Marshal(contract.OrderPlaced{OrderID: "order-1", CartID: closed.ID, UserID: "u1", Articles: []contract.OrderLine{}})
	require.NoError(t, err)
	delivery := bus.Delivery{Envelope: bus.Envelope{Type: contract.TypeOrderPlaced, Message: placed}}
	recorded := trips.During(func() { err = handleOrderPlaced(svc)(ctx, delivery) })
	require.NoError(t, err)
	assert.LessOrEqual(t, recorded, int64(1), "the order set on the pointer")
	assert.LessOrEqual(t, checkout+recorded, int64(3), "a checkout costs 3 round trips")

	got, err := store.Get(ctx, closed.ID)
	require.NoError(t, err)
	assert.Equal(t, "order-1", got.OrderID)
	awaiting, err := store.AwaitingOrder(ctx, time.Now().Add(time.Hour), 10)
	require.NoError(t, err)
	assert.Empty(t, awaiting)
	next, err := svc.Current(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, cartID("u1", 2), next.ID, "after checkout, a new cart")
	assert.Empty(t, next.Articles)
}

// A change that starts from a cached state that is no longer the latest (another instance
// changed the cart, its broadcast not arrived) fails on the duplicate version and starts over
// from the store: nothing is lost, and a checkout closes the cart as it is.
func TestStaleCachedStartIsCaught(t *testing.T) {
	ctx := context.Background()
	db := testkit.Mongo(t)
	b, catalog := testkit.Rabbit(t), newFakeCatalog(t)
	instance := func() *Service {
		store, err := NewStore(ctx, db)
		require.NoError(t, err)
		return NewService(ServiceDeps{Store: store, Bus: b, Catalog: newCatalogClient(catalog.URL), Log: testkit.Logger(t), Now: time.Now})
	}
	one, other := instance(), instance() // without broadcasts between them

	_, err := one.Add(ctx, "u1", articleA, 1) // cached by one
	require.NoError(t, err)
	_, err = other.Add(ctx, "u1", articleB, 1)
	require.NoError(t, err)
	c, err := one.ChangeBy(ctx, "u1", articleA, 1) // from one's stale cache first
	require.NoError(t, err)
	assert.Equal(t, []Line{{ArticleID: articleA, Quantity: 2}, {ArticleID: articleB, Quantity: 1}}, c.Articles)
	assert.Equal(t, 3, c.Version)

	_, err = other.Remove(ctx, "u1", articleB) // other's cache is stale too: caught the same way
	require.NoError(t, err)
	closed, err := one.Checkout(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, []Line{{ArticleID: articleA, Quantity: 2}}, closed.Articles, "the latest lines are checked out")
	_, err = other.Checkout(ctx, "u1") // other's cache holds the open cart: caught, and refused
	assert.ErrorIs(t, err, errs.Conflict)
}

// A closed cart whose pointer was never written (its writer stopped after the state) is given
// one by AddMissingPointers, and is then awaiting its order like any other.
func TestAddMissingPointers(t *testing.T) {
	ctx := context.Background()
	store, err := NewStore(ctx, testkit.Mongo(t))
	require.NoError(t, err)
	c := newCart("u1", 1, stamp()).next(stamp())
	require.NoError(t, store.Append(ctx, c))
	c = c.next(stamp())
	c.Enabled = false
	require.NoError(t, store.Append(ctx, c))
	_, err = store.closed.DeleteOne(ctx, bson.M{"_id": c.ID})
	require.NoError(t, err)
	before := time.Now().Add(time.Hour)
	due, err := store.AwaitingOrder(ctx, before, 10)
	require.NoError(t, err)
	assert.Empty(t, due)

	n, err := store.AddMissingPointers(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	due, err = store.AwaitingOrder(ctx, before, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, c, due[0])
	n, err = store.AddMissingPointers(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	assert.Zero(t, n, "nothing missing any more")
}
