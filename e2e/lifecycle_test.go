package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// TestOrderLife drives an order's whole life through the fleet (SPEC §3.5): pay what is due,
// cancel and get the stock back, the unpaid-order limit, ship and deliver, and the payment
// deadline, with the stock checked after each step.
func TestOrderLife(t *testing.T) {
	parallel(t)
	const deadline = 30 * time.Second
	s := startEmbedded(t, "ORDERS_MAX_UNPAID=2", "ORDERS_PAYMENT_DEADLINE="+deadline.String(), "ORDERS_JOB_VALIDATED_EVERY=1s")
	anon := newClient(t, s.urls)
	admin := anon.as(anon.signIn(s.adminLogin, s.adminPassword))
	var a article
	admin.must(http.MethodPost, "catalog", "/articles", map[string]any{"name": "Life " + testkit.Name("l"), "price": 2, "stock": 10}, &a)
	u := anon.as(anon.signUp("Life shopper", testkit.Name("life"), "life shopper password"))

	stockIs := func(want int, what string) {
		t.Helper()
		eventually(t, time.Minute, what, func() bool {
			var got article
			anon.must(http.MethodGet, "catalog", "/articles/"+a.ID, nil, &got)
			return got.Stock == want
		})
	}
	// checkout orders quantity units and returns the order once it is final for now.
	checkout := func(quantity int) order {
		t.Helper()
		u.must(http.MethodPost, "cart", "/cart/article", map[string]any{"articleId": a.ID, "quantity": quantity}, nil)
		var closed cart
		u.must(http.MethodPost, "cart", "/cart/checkout", nil, &closed)
		var o order
		eventually(t, time.Minute, "the order of cart "+closed.ID, func() bool {
			var list []orderSummary
			u.must(http.MethodGet, "orders", "/orders", nil, &list)
			for _, s := range list {
				if s.CartID == closed.ID && s.Status != "placed" {
					u.must(http.MethodGet, "orders", "/orders/"+s.ID, nil, &o)
					return true
				}
			}
			return false
		})
		return o
	}
	orderField := func(id, name string) any {
		var m map[string]any
		u.must(http.MethodGet, "orders", "/orders/"+id, nil, &m)
		return m[name]
	}

	// Pay what is due, then cancel: the payment is refunded, the units come back.
	first := checkout(3)
	require.Equal(t, "validated", first.Status)
	stockIs(7, "3 units reserved")
	assert.EqualValues(t, 6, orderField(first.ID, "amountDue"))
	assert.NotEmpty(t, orderField(first.ID, "paymentDeadline"))
	u.must(http.MethodPost, "orders", "/orders/"+first.ID+"/payment", map[string]any{"method": "CASH", "amount": 1}, nil)
	status, body := u.raw(http.MethodPost, "orders", "/orders/"+first.ID+"/payment", map[string]any{"method": "CASH", "amount": 100})
	require.Equal(t, http.StatusBadRequest, status, "%s", body)
	var refusal struct {
		Code     string
		Messages []struct {
			Path   string
			Code   string
			Params map[string]any
		}
	}
	require.NoError(t, json.Unmarshal(body, &refusal))
	assert.Equal(t, "exceeds_amount_due", refusal.Code)
	require.Len(t, refusal.Messages, 1)
	assert.Equal(t, "amount", refusal.Messages[0].Path)
	assert.EqualValues(t, 5, refusal.Messages[0].Params["amountDue"])
	var cancelled order
	u.must(http.MethodPost, "orders", "/orders/"+first.ID+"/cancel", map[string]any{"reason": "changed my mind"}, &cancelled)
	assert.Equal(t, "cancelled", cancelled.Status)
	require.Len(t, cancelled.Refunds, 1)
	assert.InDelta(t, 1, cancelled.Refunds[0].Amount, 0.001)
	u.must(http.MethodPost, "orders", "/orders/"+first.ID+"/cancel", nil, nil) // again: nothing changes
	stockIs(10, "the cancelled order's 3 units back, once")

	// Two unpaid orders at most: the third is refused and holds nothing.
	second, third := checkout(1), checkout(1)
	require.Equal(t, "validated", second.Status)
	require.Equal(t, "validated", third.Status)
	refused := checkout(1)
	assert.Equal(t, "invalid", refused.Status)
	assert.Equal(t, "too_many_unpaid_orders", refused.Reason)
	stockIs(8, "the refused order holds nothing")

	// Paid, shipped, delivered; no longer cancellable.
	u.must(http.MethodPost, "orders", "/orders/"+second.ID+"/payment", map[string]any{"method": "DEBIT", "amount": 2}, nil)
	var shipped order
	admin.must(http.MethodPost, "orders", "/orders/"+second.ID+"/ship", map[string]any{"carrier": "Correos", "trackingCode": "PK1"}, &shipped)
	assert.Equal(t, "shipped", shipped.Status)
	assert.Equal(t, http.StatusConflict, u.call(http.MethodPost, "orders", "/orders/"+second.ID+"/cancel", nil, nil))
	admin.must(http.MethodPost, "orders", "/orders/"+second.ID+"/deliver", nil, nil)
	assert.Equal(t, "delivered", orderField(second.ID, "status"))

	// Nobody pays the third: the validated job cancels it past its deadline; its unit comes back.
	eventually(t, deadline+time.Minute, "the unpaid order expired", func() bool {
		return orderField(third.ID, "status") == "cancelled"
	})
	assert.Equal(t, "payment_deadline", orderField(third.ID, "cancellation").(map[string]any)["reason"])
	stockIs(9, "only the delivered order's unit is gone")
}
