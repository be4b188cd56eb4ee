package orders

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// api is the orders REST API over a fresh database, with users "alice" (token ta), "bob" (tb)
// and the admin "root" (tr).
type api struct {
	svc   *Service
	store *Store
	srv   *httptest.Server
}

func newAPI(t *testing.T) *api { return newAPIWith(t, ServiceConfig{}) }

// newAPIWith returns the API of a service configured with c over a fresh database.
func newAPIWith(t *testing.T, c ServiceConfig) *api {
	t.Helper()
	svc, store := newServiceWith(t, c)
	auth := testkit.NewAuth(t)
	auth.Add("ta", "alice")
	auth.Add("tb", "bob")
	auth.Add("tr", "root", "user", "admin")
	log := testkit.Logger(t)
	checker := tokens.NewChecker(auth.URL, time.Minute)
	srv := httptest.NewServer(NewServer(Deps{Basics: web.Basics{Log: log, Metrics: metrics.New("orders")}, Tokens: checker, Service: svc}))
	t.Cleanup(srv.Close)
	return &api{svc: svc, store: store, srv: srv}
}

// call sends a request and returns the status and the decoded JSON body.
func (a *api) call(t *testing.T, method, path, token, body string) (int, any) {
	t.Helper()
	return doCall(t, a.srv.URL, method, path, token, body)
}

// doCall sends a request to the service at base and returns the status and the decoded body.
func doCall(t *testing.T, base, method, path, token, body string) (int, any) {
	t.Helper()
	r := testkit.Request{Method: method, Path: path, Token: token}
	if body != "" {
		r.Body = body
	}
	rec := testkit.Serve(t, base, r)
	var v any
	if rec.Body.Len() > 0 {
		v = testkit.DecodeJSON[any](t, rec)
	}
	return rec.Code, v
}

func field(v any, name string) any {
	m, _ := v.(map[string]any)
	return m[name]
}

func TestOrdersAPI(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	placed := mustPlace(t, a.svc, "cart-placed", "alice", Line{"A", 1})
	valid := mustValidate(t, a.svc, mustPlace(t, a.svc, "cart-valid", "alice", Line{"A", 2}, Line{"B", 1}), 1250)
	invalid := mustPlace(t, a.svc, "cart-invalid", "alice", Line{"A", 1})
	_, err := a.svc.RecordArticleData(ctx, invalid.ID, ArticleData{ArticleID: "A", Valid: false})
	require.NoError(t, err)
	bobs := mustPlace(t, a.svc, "cart-bob", "bob", Line{"C", 1})
	unknown := OrderIDForCart("nobody")

	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		check                           func(t *testing.T, body any)
	}{
		{name: "list without token", method: "GET", path: "/orders", status: 401},
		{name: "list with a bad token", method: "GET", path: "/orders", token: "bad", status: 401},
		{name: "list own orders", method: "GET", path: "/orders", token: "ta", status: 200, check: func(t *testing.T, body any) {
			list := body.([]any)
			require.Len(t, list, 3)
			for _, item := range list {
				assert.NotEqual(t, bobs.ID, field(item, "id"))
			}
			for _, item := range list {
				if field(item, "id") == valid.ID {
					assert.Equal(t, "validated", field(item, "status"))
					assert.Equal(t, 37.5, field(item, "totalPrice"))
					assert.Equal(t, 2.0, field(item, "articles"))
					assert.Equal(t, "cart-valid", field(item, "cartId"))
				}
			}
		}},
		{name: "list is [] when empty", method: "GET", path: "/orders", token: "tr", status: 200, check: func(t *testing.T, body any) {
			assert.Equal(t, []any{}, body)
		}},
		{name: "get own order", method: "GET", path: "/orders/" + valid.ID, token: "ta", status: 200, check: func(t *testing.T, body any) {
			assert.Equal(t, valid.ID, field(body, "id"))
			assert.Equal(t, valid.ID, field(body, "orderId"))
			assert.Equal(t, "alice", field(body, "userId"))
			assert.Equal(t, 37.5, field(body, "totalPrice"))
			assert.Equal(t, 0.0, field(body, "totalPayment"))
			assert.Equal(t, []any{}, field(body, "payments"))
			line := field(body, "articles").([]any)[0]
			assert.Equal(t, map[string]any{"articleId": "A", "id": "A", "quantity": 2.0, "isValid": true, "valid": true,
				"isValidated": true, "validated": true, "unitaryPrice": 12.5}, line)
		}},
		{name: "admin gets any order", method: "GET", path: "/orders/" + valid.ID, token: "tr", status: 200},
		{name: "another user gets 404", method: "GET", path: "/orders/" + valid.ID, token: "tb", status: 404},
		{name: "unknown order", method: "GET", path: "/orders/" + unknown, token: "ta", status: 404, check: func(t *testing.T, body any) {
			assert.Equal(t, "order "+unknown+" not found", field(body, "error"), "a message a person can read")
		}},
		{name: "malformed order id", method: "GET", path: "/orders/xyz", token: "ta", status: 400},
		{name: "rebuild own order", method: "GET", path: "/orders/" + valid.ID + "/update", token: "ta", status: 200, check: func(t *testing.T, body any) {
			assert.Equal(t, "validated", field(body, "status"))
		}},
		{name: "admin rebuilds any order", method: "GET", path: "/orders/" + bobs.ID + "/update", token: "tr", status: 200},
		{name: "another user cannot rebuild", method: "GET", path: "/orders/" + bobs.ID + "/update", token: "ta", status: 404},

		{name: "payment with malformed JSON", method: "POST", path: "/orders/" + valid.ID + "/payment", token: "ta", body: `{"method":`, status: 400},
		{name: "payment amount of the wrong type", method: "POST", path: "/orders/" + valid.ID + "/payment", token: "ta", body: `{"method":"CASH","amount":"10"}`, status: 400},
		{name: "payment with bad method and amount", method: "POST", path: "/orders/" + valid.ID + "/payment", token: "ta", body: `{"method":"GOLD","amount":0}`, status: 400, check: func(t *testing.T, body any) {
			var want any
			require.NoError(t, json.Unmarshal([]byte(`{"error":"invalid payment","code":"validation_failed","messages":[
				{"path":"method","message":"must be CASH, CREDIT or DEBIT","code":"one_of","params":{"values":["CASH","CREDIT","DEBIT"]}},
				{"path":"amount","message":"must be greater than 0","code":"greater_than","params":{"min":0}}]}`), &want))
			assert.Equal(t, want, body)
		}},
		{name: "payment with a negative amount", method: "POST", path: "/orders/" + valid.ID + "/payment", token: "ta", body: `{"method":"CASH","amount":-5}`, status: 400},
		{name: "payment with fractions of cents", method: "POST", path: "/orders/" + valid.ID + "/payment", token: "ta", body: `{"method":"CASH","amount":1.001}`, status: 400},
		{name: "payment without an amount", method: "POST", path: "/orders/" + valid.ID + "/payment", token: "ta", body: `{"method":"CASH"}`, status: 400, check: func(t *testing.T, body any) {
			assert.Equal(t, "is required", field(field(body, "messages").([]any)[0], "message"))
		}},
		{name: "payment of a huge amount", method: "POST", path: "/orders/" + valid.ID + "/payment", token: "ta", body: `{"method":"CASH","amount":1e300}`, status: 400},
		{name: "payment on an invalid order", method: "POST", path: "/orders/" + invalid.ID + "/payment", token: "ta", body: `{"method":"CASH","amount":10}`, status: 409, check: func(t *testing.T, body any) {
			assert.Equal(t, "order_invalid", field(body, "code"))
		}},
		{name: "payment on an order not validated yet", method: "POST", path: "/orders/" + placed.ID + "/payment", token: "ta", body: `{"method":"CASH","amount":10}`, status: 409, check: func(t *testing.T, body any) {
			assert.Equal(t, "order_not_validated", field(body, "code"))
		}},
		{name: "payment by another user", method: "POST", path: "/orders/" + valid.ID + "/payment", token: "tb", body: `{"method":"CASH","amount":10}`, status: 404},
		{name: "payment by an admin who is not the owner", method: "POST", path: "/orders/" + valid.ID + "/payment", token: "tr", body: `{"method":"CASH","amount":10}`, status: 403},
		{name: "payment on an unknown order", method: "POST", path: "/orders/" + unknown + "/payment", token: "ta", body: `{"method":"CASH","amount":10}`, status: 404},
		{name: "partial payment", method: "POST", path: "/orders/" + valid.ID + "/payment", token: "ta",
			body: `{"orderId":"ignored","method":"credit","amount":30.25}`, status: 200, check: func(t *testing.T, body any) {
				assert.Equal(t, "validated", field(body, "status"))
				assert.Equal(t, []any{map[string]any{"method": "CREDIT", "amount": 30.25}}, field(body, "payments"))
			}},
		{name: "payment covering the total", method: "POST", path: "/orders/" + valid.ID + "/payment", token: "ta",
			body: `{"method":"CASH","amount":7.25}`, status: 200, check: func(t *testing.T, body any) {
				assert.Equal(t, "payment_defined", field(body, "status"))
				assert.Equal(t, 37.5, field(body, "totalPayment"))
			}},
		{name: "payment after the total is covered", method: "POST", path: "/orders/" + valid.ID + "/payment", token: "ta", body: `{"method":"CASH","amount":1}`, status: 409},

		{name: "status list needs admin", method: "GET", path: "/orders/status", token: "ta", status: 403},
		{name: "status list with a bad status", method: "GET", path: "/orders/status?status=lost", token: "tr", status: 400},
		{name: "status list with a bad page", method: "GET", path: "/orders/status?page=0&size=1000", token: "tr", status: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := a.call(t, tc.method, tc.path, tc.token, tc.body)
			require.Equal(t, tc.status, status, "body %v", body)
			if status >= 400 {
				assert.NotEmpty(t, field(body, "error"))
			}
			if tc.check != nil {
				tc.check(t, body)
			}
		})
	}

	events, err := a.store.Events(ctx, valid.ID)
	require.NoError(t, err)
	assert.Len(t, events, 5, "placed, two answers, two payments: refused requests stored nothing")
}

func TestStatusListAPI(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	mustPlace(t, a.svc, "cart-1", "alice", Line{"A", 1})
	mustPlace(t, a.svc, "cart-2", "bob", Line{"A", 1})
	mustValidate(t, a.svc, mustPlace(t, a.svc, "cart-3", "bob", Line{"A", 1}), 100)
	for _, st := range Statuses {
		require.NoError(t, a.svc.RunStatusJob(ctx, st, time.Hour))
	}

	status, body := a.call(t, "GET", "/orders/status", "tr", "")
	require.Equal(t, 200, status)
	assert.Equal(t, 3.0, field(body, "total"))

	status, body = a.call(t, "GET", "/orders/status?status=placed&page=2&size=1", "tr", "")
	require.Equal(t, 200, status)
	assert.Equal(t, 2.0, field(body, "total"))
	items := field(body, "items").([]any)
	require.Len(t, items, 1)
	assert.Equal(t, "placed", field(items[0], "status"))
	assert.NotEmpty(t, field(items[0], "orderId"))
	assert.NotEmpty(t, field(items[0], "userId"))
	assert.NotEmpty(t, field(items[0], "updated"))

	status, body = a.call(t, "GET", "/orders/status?status=payment_defined", "tr", "")
	require.Equal(t, 200, status)
	assert.Equal(t, []any{}, field(body, "items"))
}

// A placed order has no projection: GET /orders lists it and GET /orders/{id} shows it, folded
// from its events, answers included.
func TestPlacedOrderIsReadBeforeAnyProjection(t *testing.T) {
	a := newAPI(t)
	ctx := context.Background()
	placed := mustPlace(t, a.svc, "cart-1", "alice", Line{"A", 1}, Line{"B", 2})
	answered, err := a.svc.RecordArticleData(ctx, placed.ID, ArticleData{ArticleID: "A", Valid: true, Price: 250})
	require.NoError(t, err)
	require.Equal(t, StatusPlaced, answered.Status)
	_, err = a.store.Order(ctx, placed.ID)
	require.ErrorIs(t, err, errs.NotFound, "no projection while placed")

	status, body := a.call(t, "GET", "/orders", "ta", "")
	require.Equal(t, 200, status)
	require.Len(t, body, 1)
	item := body.([]any)[0]
	assert.Equal(t, placed.ID, field(item, "id"))
	assert.Equal(t, "placed", field(item, "status"))
	assert.Equal(t, "cart-1", field(item, "cartId"))
	assert.Equal(t, 2.0, field(item, "articles"))
	assert.Equal(t, 2.5, field(item, "totalPrice"), "the answer the projection would miss")

	status, body = a.call(t, "GET", "/orders/"+placed.ID, "ta", "")
	require.Equal(t, 200, status)
	assert.Equal(t, "placed", field(body, "status"))
	line := field(body, "articles").([]any)[0]
	assert.Equal(t, true, field(line, "validated"))
	assert.Equal(t, 2.5, field(line, "unitaryPrice"))
	status, _ = a.call(t, "GET", "/orders/"+placed.ID, "tb", "")
	assert.Equal(t, 404, status, "not bob's")

	_, err = a.store.Order(ctx, placed.ID)
	assert.ErrorIs(t, err, errs.NotFound, "reading a placed order writes no projection")
}
