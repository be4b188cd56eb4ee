package cart

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/contract/contracttest"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// answerLikeCatalog consumes the `catalog` queue and answers article-valid the way catalog
// does, from the fake catalog's articles. When the test ends, every request it got must have
// been exactly a message of the contract.
func answerLikeCatalog(t *testing.T, f *fixture) {
	var mu sync.Mutex
	var requests []bus.Delivery
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range requests {
			contracttest.Produced(t, d)
		}
	})
	testkit.Consume(t, f.bus, bus.Subscription{Queue: contract.QueueCatalog}, func(ctx context.Context, d bus.Delivery) error {
		mu.Lock()
		requests = append(requests, d)
		mu.Unlock()
		var req contract.ArticleRequest
		if err := d.Decode(&req); err != nil {
			return err
		}
		a, ok := f.catalog.get(req.ArticleID)
		return bus.Reply(ctx, f.bus, d, contract.TypeArticleValid,
			contract.ArticleValid{ReferenceID: req.ReferenceID, ArticleID: req.ArticleID, Valid: ok && a.Enabled})
	})
}

func TestAsyncValidation(t *testing.T) {
	f := newFixture(t)
	f.auth.Add("tok", "u1")
	answerLikeCatalog(t, f)
	testkit.Consume(t, f.bus, bus.Subscription{Queue: "cart", Prefetch: 4}, handleCartQueue(f.svc))

	line := func(id string) Line {
		c := f.cart("GET", "/cart", "tok", nil)
		for _, l := range c.Articles {
			if l.ArticleID == id {
				return l
			}
		}
		return Line{}
	}
	c := f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleA, "quantity": 1})
	assert.False(t, c.Articles[0].Validated, "not validated before catalog answers")
	f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleUnknown, "quantity": 1})

	testkit.Eventually(t, 10*time.Second, func() bool { return line(articleA).Validated }, "article A validated")
	assert.True(t, line(articleA).Valid)
	testkit.Eventually(t, 10*time.Second, func() bool { return line(articleUnknown).Validated }, "unknown article validated")
	assert.False(t, line(articleUnknown).Valid)

	// The catalog disables A; the periodic re-validation makes it show.
	f.catalog.set(article{ID: articleA, Enabled: false})
	sent, err := f.svc.Revalidate(context.Background(), 10)
	require.NoError(t, err)
	assert.Equal(t, 2, sent)
	testkit.Eventually(t, 10*time.Second, func() bool { return !line(articleA).Valid }, "article A now invalid")
	assert.True(t, line(articleA).Validated)
}

func TestValidationReplies(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.svc.Add(ctx, "u1", articleA, 1)
	require.NoError(t, err)
	delivery := func(msgType, body string) bus.Delivery {
		return bus.Delivery{Envelope: bus.Envelope{Type: msgType, Message: []byte(body)}}
	}
	reply := `{"referenceId":"` + c.ID + `","articleId":"` + articleA + `","valid":true}`

	require.NoError(t, handleCartQueue(f.svc)(ctx, delivery("article-valid", reply)))
	got, err := f.store.Get(ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, Line{ArticleID: articleA, Quantity: 1, Valid: true, Validated: true}, got.Articles[0])

	states := f.countStates(map[string]any{})
	require.NoError(t, handleCartQueue(f.svc)(ctx, delivery("article-valid", reply)), "redelivery")
	assert.Equal(t, states, f.countStates(map[string]any{}), "a repeated answer stores nothing")

	for name, body := range map[string]string{
		"unknown cart": `{"referenceId":"nobody:1","articleId":"` + articleA + `","valid":true}`,
		"line gone":    `{"referenceId":"` + c.ID + `","articleId":"` + articleB + `","valid":true}`,
	} {
		require.NoError(t, handleCartQueue(f.svc)(ctx, delivery("article-valid", body)), name)
	}
	assert.Equal(t, states, f.countStates(map[string]any{}), "answers about nothing store nothing")

	err = handleCartQueue(f.svc)(ctx, delivery("article-valid", `{"referenceId":`))
	assert.True(t, bus.IsPermanent(err), "malformed: %v", err)
	err = handleCartQueue(f.svc)(ctx, delivery("surprise", `{}`))
	assert.True(t, bus.IsPermanent(err), "unknown type: %v", err)
	err = handleOrderPlaced(f.svc)(ctx, delivery("order_placed", `{"cartId":""}`))
	assert.True(t, bus.IsPermanent(err), "order_placed without ids: %v", err)
}

func TestResendUntilOrderPlaced(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	orders := newCounter()
	testkit.Consume(t, f.bus, bus.Subscription{Queue: "order"}, orders.handle)
	testkit.Consume(t, f.bus, bus.Subscription{Queue: "cart_order_placed"}, handleOrderPlaced(f.svc))

	// A cart closed by a process that died before publishing place_order: only the store has it.
	open, err := f.svc.Add(ctx, "u1", articleA, 2)
	require.NoError(t, err)
	closed := open.next(stamp())
	closed.Enabled = false
	require.NoError(t, f.svc.append(ctx, closed))

	// Re-sent after the interval, then after 2, 4, 8… intervals (not at every round), up to
	// maxResendGap.
	const interval = time.Minute
	start := time.Now().Add(time.Hour) // as if the re-send interval had passed
	sent := 0
	for _, at := range []time.Duration{0, interval / 2, interval, 2 * interval, 3 * interval, 4 * interval, 5 * interval, 7 * interval} {
		n, err := f.svc.ResendPlaceOrders(ctx, start.Add(at), interval)
		require.NoError(t, err)
		sent += n
	}
	assert.Equal(t, 4, sent, "re-sent at 0, 1, 3 and 7 intervals")
	orders.drain(t, f.bus, "order", "order")
	require.Equal(t, 4, orders.count("place_order"))
	last := start.Add(7 * interval)
	for range 20 {
		last = last.Add(maxResendGap)
		n, err := f.svc.ResendPlaceOrders(ctx, last, interval)
		require.NoError(t, err)
		require.Equal(t, 1, n, "never more than maxResendGap apart")
	}
	var msg contract.PlaceOrder
	require.NoError(t, orders.lastOf("place_order").Decode(&msg))
	assert.Equal(t, contract.PlaceOrder{CartID: closed.ID, UserID: "u1", Articles: []contract.OrderLine{{ArticleID: articleA, Quantity: 2}}}, msg)

	n, err := f.svc.ResendPlaceOrders(ctx, time.Now(), time.Hour)
	require.NoError(t, err)
	assert.Zero(t, n, "not before the interval has passed since closing")

	// orders answers; twice, as a redelivery would.
	placed := contract.OrderPlaced{OrderID: "order-1", CartID: closed.ID, UserID: "u1", Articles: msg.Articles}
	for range 2 {
		require.NoError(t, bus.Send(ctx, f.bus, "sell_flow", "order_placed", contract.TypeOrderPlaced, placed))
	}
	testkit.Eventually(t, 10*time.Second, func() bool {
		c, err := f.store.Get(ctx, closed.ID)
		return err == nil && c.OrderID == "order-1"
	}, "orderId recorded")
	n, err = f.svc.ResendPlaceOrders(ctx, last.Add(maxResendGap), interval)
	require.NoError(t, err)
	assert.Zero(t, n, "no re-send once the order is placed")

	c, err := f.svc.Open(ctx, "u1")
	require.NoError(t, err)
	assert.NotEqual(t, closed.ID, c.ID, "the user has a new open cart")
}

// order_placed records its order only on the closed cart of the user it names, and never
// replaces an order already recorded: the recorded order is what stops place_order being re-sent.
func TestOrderPlacedMustMatchTheCart(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	open, err := f.svc.Add(ctx, "u1", articleA, 1)
	require.NoError(t, err)
	closed := open.next(stamp())
	closed.Enabled = false
	require.NoError(t, f.svc.append(ctx, closed))
	placed := func(cartID, userID, orderID string) bus.Delivery {
		body, err := json.Marshal(contract.OrderPlaced{OrderID: orderID, CartID: cartID, UserID: userID, Articles: []contract.OrderLine{}})
		require.NoError(t, err)
		return bus.Delivery{Envelope: bus.Envelope{Type: contract.TypeOrderPlaced, Message: body}}
	}
	orderOf := func() string {
		c, err := f.store.Get(ctx, closed.ID)
		require.NoError(t, err)
		return c.OrderID
	}

	require.NoError(t, handleOrderPlaced(f.svc)(ctx, placed(closed.ID, "u2", "order-x")), "acked and ignored")
	assert.Empty(t, orderOf(), "another user's order_placed records nothing")
	require.NoError(t, handleOrderPlaced(f.svc)(ctx, placed("nobody:1", "u1", "order-x")))
	assert.True(t, bus.IsPermanent(handleOrderPlaced(f.svc)(ctx, placed(closed.ID, "", "order-x"))), "no userId")
	assert.Empty(t, orderOf())

	require.NoError(t, handleOrderPlaced(f.svc)(ctx, placed(closed.ID, "u1", "order-1")))
	require.NoError(t, handleOrderPlaced(f.svc)(ctx, placed(closed.ID, "u1", "order-1")), "redelivery")
	assert.Equal(t, "order-1", orderOf())
	require.NoError(t, handleOrderPlaced(f.svc)(ctx, placed(closed.ID, "u1", "order-2")))
	assert.Equal(t, "order-1", orderOf(), "a second order does not replace the first")
}
