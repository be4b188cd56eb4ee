package web

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/web/api"
)

// The order page says what is due and by when, offers Cancel while allowed, shows the
// cancellation, refunds and shipping once they happened, and gives admins Ship and Deliver; the
// cancel page asks for confirmation. In every language.
func TestOrderLifePagesRender(t *testing.T) {
	p := mustParsePages(nil, nil)
	at := time.Date(2026, 12, 6, 10, 30, 0, 0, time.UTC)
	deadline := at.Add(30 * time.Minute)
	validated := api.Order{ID: "o1", Status: "validated", UserID: "u1", TotalPrice: 12_90, TotalPayment: 1_00, AmountDue: 11_90,
		PaymentDeadline: &deadline, Articles: []api.OrderArticle{{ArticleID: "a1", Quantity: 1, Valid: true, Validated: true, UnitaryPrice: 12_90}},
		Payments: []api.Payment{{Method: "CASH", Amount: 1_00}}}
	delivered := at.Add(time.Hour)
	cancelled := validated
	cancelled.Status, cancelled.AmountDue, cancelled.PaymentDeadline = "cancelled", 0, nil
	cancelled.Cancellation = &api.Cancellation{Reason: "payment_deadline", At: at}
	cancelled.Refunds = []api.Refund{{Amount: 1_00, Reason: "payment_deadline"}}
	shipped := api.Order{ID: "o3", Status: "delivered", UserID: "u1", TotalPrice: 5_00, TotalPayment: 5_00,
		Shipping: &api.Shipping{Carrier: "Correos", TrackingCode: "PK123", Shipped: at, Delivered: &delivered}}
	paid := api.Order{ID: "o4", Status: "payment_defined", UserID: "u1", TotalPrice: 5_00, TotalPayment: 5_00}
	owner := &tokens.User{ID: "u1", Name: "Ana", Permissions: []string{"user"}}
	admin := &tokens.User{ID: "root", Permissions: []string{"user", "admin"}}

	want := map[string][]string{
		"en": {"Amount due: €11.90", "pay by", "Cancel order", "Cancelled on", "not paid in time", "€1.00 to be refunded",
			"Correos", "PK123", "Delivered", "Ship", "Cancel this order?", "Yes, cancel the order", "€1.00 you paid will be refunded"},
		"es": {"Pendiente de pago: 11,90", "paga antes del", "Cancelar pedido", "Cancelado el", "no se pagó a tiempo", "a reembolsar",
			"Correos", "PK123", "Entregado", "Enviar", "¿Cancelar este pedido?", "Sí, cancelar el pedido", "que pagaste"},
	}
	for _, lang := range languages {
		var all bytes.Buffer
		render := func(page string, user *tokens.User, d orderData) string {
			var buf bytes.Buffer
			v := &view{lang: lang, CSRF: "csrf", User: user, Path: "/orders/" + d.ID, Title: "order.title", Data: d}
			require.NoError(t, p.execute(&buf, page, v))
			all.Write(buf.Bytes())
			return buf.String()
		}
		html := render("order", owner, orderData{Order: validated, Payable: true, Due: validated.AmountDue, Cancellable: true})
		assert.Contains(t, html, `href="/orders/o1/cancel"`)
		html = render("order", owner, orderData{Order: cancelled})
		assert.NotContains(t, html, `/cancel"`, "no Cancel on a cancelled order")
		render("order", owner, orderData{Order: shipped})
		html = render("order", admin, orderData{Order: paid, Shippable: true, Cancellable: true})
		assert.Contains(t, html, `action="/admin/orders/o4/ship"`)
		assert.Contains(t, html, `name="trackingCode"`)
		html = render("order", admin, orderData{Order: api.Order{ID: "o5", Status: "shipped"}, Deliverable: true})
		assert.Contains(t, html, `action="/admin/orders/o5/deliver"`)
		html = render("order_cancel", owner, orderData{Order: validated, Cancellable: true})
		assert.Contains(t, html, `action="/orders/o1/cancel" method="post"`)
		assert.Contains(t, html, `name="csrf" value="csrf"`)
		for _, text := range want[lang] {
			assert.Contains(t, all.String(), text, lang)
		}
	}
}

// The admin order console filters by every status and offers Ship, Deliver and Cancel.
func TestAdminOrdersConsoleRenders(t *testing.T) {
	p := mustParsePages(nil, nil)
	type data struct {
		Status   string
		Statuses []string
		Items    []orderStatusRow
		Total    int64
		Pager    pager
	}
	items := []orderStatusRow{{api.OrderStatus{OrderID: "o1", UserID: "u1", Status: "payment_defined"}, "Ana Luisa"},
		{api.OrderStatus{OrderID: "o2", UserID: "u1", Status: "shipped"}, "Ana Luisa"},
		{api.OrderStatus{OrderID: "o3", UserID: "u2", Status: "validated"}, ""}, {api.OrderStatus{OrderID: "o4", UserID: "u2", Status: "delivered"}, ""}}
	for _, lang := range languages {
		v := &view{lang: lang, CSRF: "csrf", Path: "/admin/orders", Title: "admin.orders.title", User: &tokens.User{ID: "root", Permissions: []string{"admin"}},
			Data: data{Statuses: orderStatuses, Items: items, Total: 4, Pager: newPager(1, 4, adminPageSize, func(int) string { return "" })}}
		var buf bytes.Buffer
		require.NoError(t, p.execute(&buf, "admin_orders", v))
		html := buf.String()
		for _, st := range []string{"placed", "validated", "invalid", "payment_defined", "shipped", "delivered", "cancelled"} {
			assert.Contains(t, html, `<option value="`+st+`"`, lang)
		}
		assert.Contains(t, html, `action="/admin/orders/o1/ship"`)
		assert.Contains(t, html, `action="/admin/orders/o2/deliver"`)
		assert.Contains(t, html, `href="/orders/o3/cancel"`)
		assert.NotContains(t, html, `href="/orders/o4/cancel"`)
		assert.Contains(t, html, `>Ana Luisa</td>`, "a user by name")
		assert.Contains(t, html, `<code>u2</code>`, "a user auth did not name, by id")
	}
}
