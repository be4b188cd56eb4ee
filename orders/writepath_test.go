package orders

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// checkoutCost is what one 3-line checkout costs orders, in store round trips, step by step.
type checkoutCost struct {
	place, publish int64
	answers        [3]int64
	payment        int64
	read           int64
}

// The cost of a change must not grow with the shop's history, nor with the order's own: every
// read of the write path is a lookup by _id.
func TestChangeCostDoesNotGrowWithHistory(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	store, err := NewStore(ctx, db)
	require.NoError(t, err)
	svc := NewService(store, bus.NewMemory(contract.Topology), testkit.Logger(t))

	checkout := func(cartID string) (checkoutCost, Order) {
		var c checkoutCost
		var o Order
		c.place = trips.During(func() {
			o, _, err = svc.Place(ctx, Placed{CartID: cartID, UserID: "u1", Lines: []Line{{"A", 1}, {"B", 1}, {"C", 1}}})
			require.NoError(t, err)
		})
		c.publish = trips.During(func() { require.NoError(t, svc.PublishOrderPlaced(ctx, o)) })
		for i, a := range []string{"A", "B", "C"} {
			c.answers[i] = trips.During(func() {
				o, err = svc.RecordArticleData(ctx, o.ID, ArticleData{ArticleID: a, Valid: true, Price: 1000, Stock: 5})
				require.NoError(t, err)
			})
		}
		require.Equal(t, StatusValidated, o.Status)
		c.payment = trips.During(func() {
			_, err = svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 1})
			require.NoError(t, err)
		})
		c.read = trips.During(func() {
			_, err = svc.Get(ctx, o.ID)
			require.NoError(t, err)
		})
		return c, o
	}
	first, o := checkout("cart-0")
	t.Logf("orders' round trips of a 3-line checkout: %+v", first)
	assert.Equal(t, checkoutCost{
		// The user's list (its head, an entry), then insert placed, list for the status jobs,
		// save (a replace by _id).
		place:   2 + 3,
		publish: 0, // a message, no store
		// Each answer starts from the order as the one before left it, in memory: an insert.
		// The one that validates the order lists it for the status jobs and saves it too.
		answers: [3]int64{1, 1, 3},
		payment: 3, // insert, list for the status jobs, save
		read:    2, // the projection, a look for a next event
	}, first)

	// More history: other orders, and 30 more payments on the first one.
	for i := range 20 {
		mustValidate(t, svc, mustPlace(t, svc, fmt.Sprint("other-", i), "u2", Line{"A", 1}, Line{"B", 1}), 100)
	}
	var payment int64
	for range 30 {
		payment = trips.During(func() {
			_, err = svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 1})
			require.NoError(t, err)
		})
	}
	assert.Equal(t, first.payment, payment, "a payment after 30 more events")
	repeated := trips.During(func() {
		_, created, err := svc.Place(ctx, Placed{CartID: "cart-0", UserID: "u1", Lines: []Line{{"A", 1}}})
		require.NoError(t, err)
		require.False(t, created)
	})
	// The list (a refused entry, a look at it), a look for an event after the order as this
	// instance left it: not a read of the order's 35 events.
	assert.Equal(t, int64(2+1), repeated, "a repeated place_order")
	again, _ := checkout("cart-1")
	first.place-- // the user's list continues after the entry this instance listed: no head
	assert.Equal(t, first, again, "a checkout after 20 more orders")
}

// Catalog's answers about an order arrive together. Within one instance they take turns, each
// starting from the order the previous one left, instead of racing for the same version.
func TestConcurrentAnswersTakeTurns(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	store, err := NewStore(ctx, db)
	require.NoError(t, err)
	svc := NewService(store, nil, testkit.Logger(t))
	for i := range 5 {
		o := mustPlace(t, svc, fmt.Sprint("cart-", i), "u1", Line{"A", 1}, Line{"B", 1}, Line{"C", 1})
		cost := trips.During(func() {
			var wg sync.WaitGroup
			for _, a := range []string{"A", "B", "C"} {
				wg.Go(func() {
					_, err := svc.RecordArticleData(ctx, o.ID, ArticleData{ArticleID: a, Valid: true, Price: 100})
					assert.NoError(t, err)
				})
			}
			wg.Wait()
		})
		t.Logf("3 concurrent answers: %d round trips", cost)
		assert.LessOrEqual(t, cost, int64(3*5), "no more than one after the other: no lost races")
		got, err := svc.Get(ctx, o.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusValidated, got.Status)
		assert.Equal(t, 4, got.Version)
	}
	assert.Empty(t, svc.turns.orders, "no turn is kept once its changes are done")
}

// A writer that stopped between appending an event and projecting it (the orders service killed
// after storing a payment) leaves the projection behind; the next read repairs it, and so does
// the next status job.
func TestStaleProjectionIsRepaired(t *testing.T) {
	svc, store := newService(t, bus.NewMemory(contract.Topology))
	ctx := context.Background()
	lostPayment := func(cartID string) Order {
		o := mustValidate(t, svc, mustPlace(t, svc, cartID, "u1", Line{"A", 2}), 500)
		require.Equal(t, StatusValidated, o.Status)
		require.NoError(t, store.Append(ctx, Event{OrderID: o.ID, Version: o.Version + 1, Type: EventPaymentDefined,
			At: svc.now(), Payment: &Payment{Method: Debit, Amount: 1000}}))
		stale, err := store.Order(ctx, o.ID)
		require.NoError(t, err)
		require.Equal(t, o, stale, "the payment is stored, not projected")
		return o
	}

	// By a read.
	o := lostPayment("cart-read")
	got, err := svc.Get(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusPaymentDefined, got.Status)
	assert.Equal(t, money.Cents(1000), got.TotalPayment)
	assert.Equal(t, Fold(mustEvents(t, store, o.ID)), got)
	stored, err := store.Order(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, got, stored, "the projection is stored caught up")

	// By the validated orders' status job.
	o = lostPayment("cart-job")
	require.NoError(t, svc.RunStatusJob(ctx, StatusValidated, time.Hour))
	stored, err = store.Order(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusPaymentDefined, stored.Status)
	assert.Equal(t, Fold(mustEvents(t, store, o.ID)), stored)
	st, _, found, err := store.Status(ctx, o.ID)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, StatusPaymentDefined, st.Status)

	// By a write, which decides on the caught-up order: no payment over the total.
	o = lostPayment("cart-write")
	_, err = svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 1})
	assert.ErrorIs(t, err, errs.Conflict)
	stored, err = store.Order(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusPaymentDefined, stored.Status)
	assert.Len(t, mustEvents(t, store, o.ID), 3)

	// A projection missing altogether (killed right after the placed event): an answer of
	// catalog is not taken for one about an unknown order.
	placed := Event{OrderID: OrderIDForCart("cart-lost"), Version: 1, Type: EventPlaced, At: svc.now(),
		Placed: &Placed{CartID: "cart-lost", UserID: "u1", Lines: []Line{{"A", 1}}}}
	require.NoError(t, store.Append(ctx, placed))
	got, err = svc.RecordArticleData(ctx, placed.OrderID, ArticleData{ArticleID: "A", Valid: true, Price: 100})
	require.NoError(t, err)
	assert.Equal(t, StatusValidated, got.Status)
	assert.Equal(t, 2, got.Version)
}

// A store written with the layout before version ids ({_id: fact key}, unique (orderId,
// version)) is moved to the new ids on start, also when an earlier start stopped half way.
func TestOldEventLayoutIsMigrated(t *testing.T) {
	ctx := context.Background()
	db := testkit.Mongo(t)
	events := db.Collection("events")
	_, err := events.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "orderId", Value: 1}, {Key: "version", Value: 1}},
		Options: options.Index().SetUnique(true).SetName("order_version")})
	require.NoError(t, err)
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	id := OrderIDForCart("old-cart")
	old := []any{
		bson.M{"_id": id + "/placed", "orderId": id, "version": 1, "type": "placed", "at": at,
			"data": bson.M{"cartId": "old-cart", "userId": "u1", "articles": bson.A{bson.M{"articleId": "A", "quantity": 2}}}},
		bson.M{"_id": id + "/order_placed_published", "orderId": id, "version": 2, "type": "order_placed_published", "at": at, "data": bson.M{}},
		bson.M{"_id": id + "/article/A", "orderId": id, "version": 3, "type": "article_validated", "at": at,
			"data": bson.M{"articleId": "A", "valid": true, "priceCents": 300, "stock": 4}},
		bson.M{"_id": id + "/payment_defined/4", "orderId": id, "version": 4, "type": "payment_defined", "at": at,
			"data": bson.M{"method": "CASH", "amountCents": 100}},
	}
	_, err = events.InsertMany(ctx, old)
	require.NoError(t, err)
	// An earlier start that copied the first event, dropped the old index and stopped.
	err = events.Indexes().DropOne(ctx, "order_version")
	require.NoError(t, err)
	_, err = events.InsertOne(ctx, bson.M{"_id": id + "/1", "key": id + "/placed", "orderId": id, "version": 1, "type": "placed", "at": at,
		"data": bson.M{"cartId": "old-cart", "userId": "u1", "articles": bson.A{bson.M{"articleId": "A", "quantity": 2}}}})
	require.NoError(t, err)

	for range 2 { // the second start finds nothing to move
		store, err := NewStore(ctx, db)
		require.NoError(t, err)
		n, err := events.CountDocuments(ctx, bson.M{})
		require.NoError(t, err)
		assert.EqualValues(t, 4, n, "each event once")
		got := mustEvents(t, store, id)
		require.Len(t, got, 4)
		o := Fold(got)
		assert.Equal(t, StatusValidated, o.Status)
		assert.True(t, o.PlacedPublished)
		assert.Equal(t, money.Cents(100), o.TotalPayment)
	}

	// The migrated events keep their facts: a repeated answer stores nothing, a payment goes
	// after them.
	store, err := NewStore(ctx, db)
	require.NoError(t, err)
	svc := NewService(store, nil, testkit.Logger(t))
	_, err = svc.RecordArticleData(ctx, id, ArticleData{ArticleID: "A", Valid: true, Price: 300})
	require.NoError(t, err)
	assert.ErrorIs(t, store.Append(ctx, Event{OrderID: id, Version: 5, Type: EventArticleValidated, At: at,
		Article: &ArticleData{ArticleID: "A", Valid: false}}), errVersionTaken, "A's answer is stored already")
	paid, err := svc.Pay(ctx, owner("u1"), id, Payment{Method: Cash, Amount: 500})
	require.NoError(t, err)
	assert.Equal(t, 5, paid.Version)
	assert.Equal(t, StatusPaymentDefined, paid.Status)
}
