package orders

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// collected holds the deliveries a collect consumer received.
type collected struct {
	mu sync.Mutex
	ds []bus.Delivery
}

// collect consumes queue until the test ends, keeping every delivery (acknowledged).
func collect(t testing.TB, b bus.Bus, queue string) *collected {
	c := &collected{}
	testkit.Consume(t, b, bus.Subscription{Queue: queue}, func(_ context.Context, d bus.Delivery) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.ds = append(c.ds, d)
		return nil
	})
	return c
}

func (c *collected) all() []bus.Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bus.Delivery(nil), c.ds...)
}

// fakeCatalog answers like catalog (SPEC §4): article-data for every article of an
// order_placed, each answer sent twice (duplicates must change nothing). Articles missing from
// prices are unknown: valid false. (orders never sends catalog a direct article-data request.)
type fakeCatalog struct {
	prices  map[string]money.Cents
	replies atomic.Int64
	placed  sync.Map // orderId → number of order_placed received
}

func startFakeCatalog(t testing.TB, url string, prices map[string]money.Cents) *fakeCatalog {
	c := &fakeCatalog{prices: prices}
	b := testkit.DialRabbit(t, url)
	answer := func(ctx context.Context, d bus.Delivery, orderID, articleID string) error {
		price, ok := c.prices[articleID]
		reply := contract.ArticleData{ReferenceID: orderID, ArticleID: articleID, Valid: ok, Price: price, Stock: 100}
		for range 2 {
			if err := bus.Reply(ctx, b, d, "article-data", reply); err != nil {
				return err
			}
			c.replies.Add(1)
		}
		return nil
	}
	testkit.Consume(t, b, bus.Subscription{Queue: "catalog_order_placed"}, func(ctx context.Context, d bus.Delivery) error {
		var m contract.OrderPlaced
		if err := d.Decode(&m); err != nil {
			return err
		}
		n, _ := c.placed.LoadOrStore(m.OrderID, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		for _, l := range m.Articles {
			if err := answer(ctx, d, m.OrderID, l.ArticleID); err != nil {
				return err
			}
		}
		return nil
	})
	return c
}

func (c *fakeCatalog) orderPlacedCount(orderID string) int64 {
	n, ok := c.placed.Load(orderID)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// metric reads the value of a counter from the service's /metrics.
func metric(t *testing.T, base, name string, labels ...string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	pattern := `(?m)^` + name + `\{`
	for _, l := range labels {
		pattern += `(?:[^}]*,)?` + regexp.QuoteMeta(l)
	}
	m := regexp.MustCompile(pattern + `[^}]*\} (\d+)`).FindSubmatch(raw)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestCheckoutFlow runs the service with Run against real MongoDB-wire and RabbitMQ and a
// stand-in catalog on the broker, and follows SPEC §4's checkout flow with every message
// delivered twice, concurrent payments, a malformed message and a logout.
func TestCheckoutFlow(t *testing.T) {
	rabbitURL := testkit.RabbitURL(t)
	mongoURL := testkit.MongoURL(t)
	db := testkit.Mongo(t)
	auth := testkit.NewAuth(t)
	auth.Add("ta", "alice")
	auth.Add("tr", "root", "user", "admin")
	base := testkit.RunService(t, Run, map[string]string{
		"MONGO_URL": mongoURL, "MONGO_DB": db.Name(), "RABBIT_URL": rabbitURL,
		"AUTH_SERVICE_URL": auth.URL, "ORDERS_JOB_PLACED_EVERY": "1h",
	}, nil)
	ctx := context.Background()

	catalog := startFakeCatalog(t, rabbitURL, map[string]money.Cents{"A": 1000, "B": 550})
	cart := testkit.DialRabbit(t, rabbitURL)
	dlq := collect(t, cart, bus.DeadLetterQueue("order"))
	cartSeen := collect(t, cart, "cart_order_placed")
	sendPlaceOrder := func(m contract.PlaceOrder) {
		require.NoError(t, bus.Send(ctx, cart, "order", "order", "place_order", m))
	}
	good := contract.PlaceOrder{CartID: "cart-good", UserID: "alice", Articles: []contract.OrderLine{{ArticleID: "A", Quantity: 2}, {ArticleID: "B", Quantity: 1}}}
	bad := contract.PlaceOrder{CartID: "cart-bad", UserID: "alice", Articles: []contract.OrderLine{{ArticleID: "A", Quantity: 1}, {ArticleID: "X", Quantity: 1}}}
	sendPlaceOrder(good)
	sendPlaceOrder(good) // cart re-sends until it sees order_placed
	sendPlaceOrder(bad)
	sendPlaceOrder(bad)
	sendPlaceOrder(contract.PlaceOrder{UserID: "alice"}) // malformed: dead-lettered at once
	goodID, badID := OrderIDForCart("cart-good"), OrderIDForCart("cart-bad")

	// Wait until every message sent so far has been handled: both place_order of each cart
	// published order_placed again, and every answer (each sent twice) was consumed.
	testkit.Eventually(t, 60*time.Second, func() bool {
		return catalog.orderPlacedCount(goodID) == 2 && catalog.orderPlacedCount(badID) == 2 &&
			metric(t, base, "messages_consumed_total", `queue="order"`, `type="article-data"`) == int(catalog.replies.Load()) &&
			len(dlq.all()) == 1
	}, "all messages handled")
	assert.Equal(t, int64(16), catalog.replies.Load(), "2 orders × 2 order_placed × 2 articles × 2 copies")
	assert.Equal(t, "place_order", dlq.all()[0].Type)
	testkit.Eventually(t, 10*time.Second, func() bool { return len(cartSeen.all()) == 4 }, "cart saw order_placed")
	assert.Equal(t, "order", cartSeen.all()[0].Envelope.Exchange, "order_placed asks for answers on order/order")
	assert.Equal(t, "order", cartSeen.all()[0].Envelope.Queue)

	call := func(method, path, token, body string) (int, any) {
		return doCall(t, base, method, path, token, body)
	}
	status, body := call("GET", "/orders", "ta", "")
	require.Equal(t, 200, status)
	require.Len(t, body, 2, "one order per cart")

	status, body = call("GET", "/orders/"+goodID, "ta", "")
	require.Equal(t, 200, status)
	assert.Equal(t, "validated", field(body, "status"))
	assert.Equal(t, 25.5, field(body, "totalPrice"))
	status, body = call("GET", "/orders/"+badID, "ta", "")
	require.Equal(t, 200, status)
	assert.Equal(t, "invalid", field(body, "status"))

	store, err := NewStore(ctx, db, time.Now)
	require.NoError(t, err)
	events, err := store.Events(ctx, goodID)
	require.NoError(t, err)
	assert.Len(t, events, 3, "placed, one answer per article: duplicates stored nothing")

	// Concurrent payments: all recorded, none lost.
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			status, body := call("POST", "/orders/"+goodID+"/payment", "ta", `{"method":"DEBIT","amount":3}`)
			assert.Equal(t, 200, status, "%v", body)
		})
	}
	wg.Wait()
	status, body = call("POST", "/orders/"+goodID+"/payment", "ta", `{"method":"CASH","amount":10.5}`)
	require.Equal(t, 200, status)
	assert.Equal(t, "payment_defined", field(body, "status"))
	assert.Len(t, field(body, "payments"), 6)
	assert.Equal(t, 25.5, field(body, "totalPayment"))
	status, _ = call("POST", "/orders/"+badID+"/payment", "ta", `{"method":"CASH","amount":1}`)
	assert.Equal(t, 409, status)

	// Rebuilding gives the same order, however often.
	for range 2 {
		status, rebuilt := call("GET", "/orders/"+goodID+"/update", "ta", "")
		require.Equal(t, 200, status)
		assert.Equal(t, body, rebuilt)
	}

	// Logout: a revoked token still in the cache stops working once auth broadcasts it.
	auth.Revoke("ta")
	status, _ = call("GET", "/orders", "ta", "")
	require.Equal(t, 200, status, "cached")
	authBus := testkit.DialRabbit(t, rabbitURL)
	testkit.Eventually(t, 20*time.Second, func() bool {
		require.NoError(t, bus.Send(ctx, authBus, "auth", "", "logout", "ta"))
		status, _ := call("GET", "/orders", "ta", "")
		return status == http.StatusUnauthorized
	}, "logout evicts the token")
}
