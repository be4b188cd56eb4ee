package cart

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// TestRun starts the whole service as its binary would and follows a cart through it: the
// async validation, checkout, place_order re-sent by the loop until order_placed, and logout.
func TestRun(t *testing.T) {
	db := testkit.Mongo(t)
	rabbitURL := testkit.RabbitURL(t)
	f := &fixture{t: t, auth: testkit.NewAuth(t), catalog: newFakeCatalog(t), bus: testkit.DialRabbit(t, rabbitURL)}
	var err error
	f.store, err = NewStore(context.Background(), db)
	require.NoError(t, err)
	f.URL = testkit.RunService(t, Run, map[string]string{
		"MONGO_URL": testkit.MongoURL(t), "MONGO_DB": db.Name(), "RABBIT_URL": rabbitURL,
		"AUTH_SERVICE_URL": f.auth.URL, "CATALOG_SERVICE_URL": f.catalog.URL,
		"CART_RESEND_INTERVAL": "100ms", "CART_VALIDATE_INTERVAL": "100ms",
	}, nil)
	ctx := context.Background()

	answerLikeCatalog(t, f)
	orders := newCounter()
	testkit.Consume(t, f.bus, bus.Subscription{Queue: "order"}, orders.handle)
	f.auth.Add("tok", "u1")

	c := f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleA, "quantity": 3})
	testkit.Eventually(t, 10*time.Second, func() bool {
		c := f.cart("GET", "/cart", "tok", nil)
		return c.Articles[0].Validated && c.Articles[0].Valid
	}, "line validated over the broker")

	closed := f.cart("POST", "/cart/checkout", "tok", nil)
	assert.Equal(t, c.ID, closed.ID)
	testkit.Eventually(t, 10*time.Second, func() bool { return orders.count("place_order") >= 3 },
		"place_order re-sent until order_placed")

	placed := contract.OrderPlaced{OrderID: "order-9", CartID: closed.ID, UserID: "u1", Articles: []contract.OrderLine{{ArticleID: articleA, Quantity: 3}}}
	require.NoError(t, bus.Send(ctx, f.bus, "sell_flow", "order_placed", contract.TypeOrderPlaced, placed))
	testkit.Eventually(t, 10*time.Second, func() bool {
		c, err := f.store.Get(ctx, closed.ID)
		return err == nil && c.OrderID == "order-9"
	}, "orderId recorded on the closed cart")
	waiting, err := f.store.AwaitingOrder(ctx, time.Now().Add(time.Hour), 10)
	require.NoError(t, err)
	assert.Empty(t, waiting, "nothing left to re-send")

	// Logout: the token is cached, so revoking it at auth alone is not seen; the broadcast is.
	f.auth.Revoke("tok")
	status, _ := f.do("GET", "/cart", "tok", nil)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, bus.Send(ctx, f.bus, "auth", "", "logout", "tok"))
	testkit.Eventually(t, 10*time.Second, func() bool {
		status, _ := f.do("GET", "/cart", "tok", nil)
		return status == http.StatusUnauthorized
	}, "logged-out token refused")
}
