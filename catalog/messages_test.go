package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/contract/contracttest"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// runningCatalog is the catalog's Run on RabbitMQ and a fresh database, with a store on that
// database to arrange articles and a bus of its own to talk to it.
type runningCatalog struct {
	store *Store
	bus   bus.Bus
}

func startCatalog(t *testing.T) runningCatalog {
	t.Helper()
	rabbitURL := testkit.RabbitURL(t)
	db := testkit.Mongo(t)
	store, err := NewStore(context.Background(), db, testDeps(nil))
	require.NoError(t, err)
	testkit.RunService(t, Run, map[string]string{
		"MONGO_URL": testkit.MongoURL(t), "MONGO_DB": db.Name(),
		"RABBIT_URL": rabbitURL, "AUTH_SERVICE_URL": testkit.NewAuth(t).URL,
	}, nil)
	return runningCatalog{store: store, bus: testkit.DialRabbit(t, rabbitURL)}
}

// collect consumes queue into a channel until the test ends.
func (c runningCatalog) collect(t *testing.T, queue string) <-chan bus.Delivery {
	ch := make(chan bus.Delivery, 1000)
	testkit.Consume(t, c.bus, bus.Subscription{Queue: queue}, func(_ context.Context, d bus.Delivery) error {
		ch <- d
		return nil
	})
	return ch
}

// next returns the next delivery of ch, failing the test when none comes.
func next(t *testing.T, ch <-chan bus.Delivery) bus.Delivery {
	t.Helper()
	select {
	case d := <-ch:
		return d
	case <-time.After(30 * time.Second):
		t.Fatal("no message arrived")
		return bus.Delivery{}
	}
}

// replyOf checks that d, a reply of the catalog, is exactly a message of the contract of
// type wantType, and returns it.
func replyOf[T any](t *testing.T, d bus.Delivery, wantType string) T {
	t.Helper()
	require.Equal(t, wantType, d.Type)
	v, ok := contracttest.Produced(t, d).(T)
	require.True(t, ok, "%s is not a %T", d.Message, v)
	return v
}

func TestArticleRequests(t *testing.T) {
	c := startCatalog(t)
	ctx := context.Background()
	enabled := newArticle(t, c.store, "Lamp", 4)
	disabled := newArticle(t, c.store, "Old lamp", 2)
	require.NoError(t, c.store.DisableArticle(ctx, disabled))
	cart := c.collect(t, "cart")
	order := c.collect(t, "order")

	tests := []struct {
		articleID string
		valid     bool
		price     money.Cents
		stock     int64
	}{
		{enabled, true, 100, 4},
		{disabled, false, 100, 2},
		{"0123456789abcdef01234567", false, 0, 0},
		{"malformed", false, 0, 0},
	}
	for i, tt := range tests {
		ref := fmt.Sprintf("ref-%d", i)
		req := contract.ArticleRequest{ReferenceID: ref, ArticleID: tt.articleID}

		require.NoError(t, bus.Send(ctx, c.bus, "catalog", "catalog", contract.TypeArticleValid, req, bus.ReplyTo("cart", "cart")))
		valid := replyOf[contract.ArticleValid](t, next(t, cart), contract.TypeArticleValid)
		assert.Equal(t, contract.ArticleValid{ReferenceID: ref, ArticleID: tt.articleID, Valid: tt.valid}, valid)

		require.NoError(t, bus.Send(ctx, c.bus, "catalog", "catalog", contract.TypeArticleData, req, bus.ReplyTo("order", "order")))
		data := replyOf[contract.ArticleData](t, next(t, order), contract.TypeArticleData)
		assert.Equal(t, contract.ArticleData{ReferenceID: ref, ArticleID: tt.articleID, Valid: tt.valid,
			Price: tt.price, Stock: tt.stock}, data)
	}
}

func TestOrderPlacedReservesOnceAndAnswers(t *testing.T) {
	c := startCatalog(t)
	ctx := context.Background()
	a := newArticle(t, c.store, "A", 5)
	b := newArticle(t, c.store, "B", 1)
	order := c.collect(t, "order")

	placed := contract.OrderPlaced{OrderID: "order-1", CartID: "cart-1", UserID: "u1",
		Articles: []contract.OrderLine{{ArticleID: a, Quantity: 2}, {ArticleID: b, Quantity: 1}}}
	// Delivered twice: the second only repeats the answers.
	for round := range 2 {
		require.NoError(t, bus.Send(ctx, c.bus, "sell_flow", "order_placed", contract.TypeOrderPlaced, placed, bus.ReplyTo("order", "order")))
		got := map[string]contract.ArticleData{}
		for range 2 {
			r := replyOf[contract.ArticleData](t, next(t, order), contract.TypeArticleData)
			got[r.ArticleID] = r
		}
		assert.Equal(t, map[string]contract.ArticleData{
			a: {ReferenceID: "order-1", ArticleID: a, Valid: true, Price: 100, Stock: 3},
			b: {ReferenceID: "order-1", ArticleID: b, Valid: true, Price: 100, Stock: 0},
		}, got, "round %d", round)
	}
	assert.Equal(t, int64(3), requireConsistentLedger(t, c.store, a))
	assert.Equal(t, int64(0), requireConsistentLedger(t, c.store, b))

	// An order that cannot have all of its articles holds none and says which are invalid.
	placed = contract.OrderPlaced{OrderID: "order-2", Articles: []contract.OrderLine{{ArticleID: a, Quantity: 1}, {ArticleID: b, Quantity: 1},
		{ArticleID: "0123456789abcdef01234567", Quantity: 1}}}
	require.NoError(t, bus.Send(ctx, c.bus, "sell_flow", "order_placed", contract.TypeOrderPlaced, placed, bus.ReplyTo("order", "order")))
	valid := map[string]bool{}
	for range 3 {
		r := replyOf[contract.ArticleData](t, next(t, order), contract.TypeArticleData)
		assert.Equal(t, "order-2", r.ReferenceID)
		valid[r.ArticleID] = r.Valid
	}
	assert.Equal(t, map[string]bool{a: true, b: false, "0123456789abcdef01234567": false}, valid)
	assert.Equal(t, int64(3), requireConsistentLedger(t, c.store, a), "a's unit was released")
}

func TestOrdersRaceForTheLastUnitsOverRabbitMQ(t *testing.T) {
	c := startCatalog(t)
	ctx := context.Background()
	article := newArticle(t, c.store, "Hot item", 10)
	order := c.collect(t, "order")

	const orders = 50
	for i := range orders {
		placed := contract.OrderPlaced{OrderID: fmt.Sprintf("order-%02d", i), Articles: []contract.OrderLine{{ArticleID: article, Quantity: 1}}}
		require.NoError(t, bus.Send(ctx, c.bus, "sell_flow", "order_placed", contract.TypeOrderPlaced, placed, bus.ReplyTo("order", "order")))
	}
	valid := 0
	answered := map[string]bool{}
	for range orders {
		r := replyOf[contract.ArticleData](t, next(t, order), contract.TypeArticleData)
		answered[r.ReferenceID] = true
		if r.Valid {
			valid++
		}
	}
	assert.Len(t, answered, orders)
	assert.Equal(t, 10, valid)
	assert.Equal(t, int64(0), requireConsistentLedger(t, c.store, article))
}

func TestMalformedMessagesAreDeadLettered(t *testing.T) {
	c := startCatalog(t)
	ctx := context.Background()
	catalogDLQ := c.collect(t, bus.DeadLetterQueue("catalog"))
	placedDLQ := c.collect(t, bus.DeadLetterQueue("catalog_order_placed"))

	require.NoError(t, c.bus.Publish(ctx, bus.Message{Exchange: "catalog", RoutingKey: "catalog",
		Envelope: bus.Envelope{Type: contract.TypeArticleValid, Version: 1, Message: json.RawMessage(`[1,2]`)}}))
	assert.Equal(t, contract.TypeArticleValid, next(t, catalogDLQ).Type)

	require.NoError(t, bus.Send(ctx, c.bus, "catalog", "catalog", "no-such-type", contract.ArticleRequest{}))
	assert.Equal(t, "no-such-type", next(t, catalogDLQ).Type)

	require.NoError(t, bus.Send(ctx, c.bus, "sell_flow", "order_placed", contract.TypeOrderPlaced, contract.OrderPlaced{}))
	assert.Equal(t, contract.TypeOrderPlaced, next(t, placedDLQ).Type)

	require.NoError(t, bus.Send(ctx, c.bus, "sell_flow", "order_placed", contract.TypeOrderPlaced,
		map[string]any{"orderId": "o1", "articles": "not a list"}))
	assert.Equal(t, contract.TypeOrderPlaced, next(t, placedDLQ).Type)
}
