package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// client speaks to the fleet over HTTP as a shopper, an admin or curl would.
type client struct {
	t     testing.TB
	urls  map[string]string // service name → base URL
	token string
	http  *http.Client // for tryCall, which must not fail the test
}

func newClient(t testing.TB, urls map[string]string) *client {
	return &client{t: t, urls: urls, http: &http.Client{Timeout: 30 * time.Second}}
}

// as returns a copy of c that sends token.
func (c *client) as(token string) *client {
	cp := *c
	cp.token = token
	return &cp
}

// call sends body as JSON to service+path and decodes the answer into out (when not nil); it
// returns the status.
func (c *client) call(method, service, path string, body, out any) int {
	c.t.Helper()
	status, raw := c.raw(method, service, path, body)
	if out != nil && len(raw) > 0 {
		require.NoError(c.t, json.Unmarshal(raw, out), "%s %s %s answered %d: %s", method, service, path, status, raw)
	}
	return status
}

func (c *client) raw(method, service, path string, body any) (int, []byte) {
	c.t.Helper()
	base, ok := c.urls[service]
	require.True(c.t, ok, "no URL for %s", service)
	rec := testkit.Serve(c.t, base, testkit.Request{Method: method, Path: path, Token: c.token, Body: body})
	return rec.Code, rec.Body.Bytes()
}

// must is call that requires status 200.
func (c *client) must(method, service, path string, body, out any) {
	c.t.Helper()
	status, raw := c.raw(method, service, path, body)
	require.Equal(c.t, http.StatusOK, status, "%s %s %s: %s", method, service, path, raw)
	if out != nil && len(raw) > 0 {
		require.NoError(c.t, json.Unmarshal(raw, out))
	}
}

func (c *client) signUp(name, login, password string) string {
	c.t.Helper()
	var out struct{ Token string }
	c.must(http.MethodPost, "auth", "/users/signup", map[string]string{"name": name, "login": login, "password": password}, &out)
	require.NotEmpty(c.t, out.Token)
	return out.Token
}

func (c *client) signIn(login, password string) string {
	c.t.Helper()
	var out struct{ Token string }
	c.must(http.MethodPost, "auth", "/users/signin", map[string]string{"login": login, "password": password}, &out)
	require.NotEmpty(c.t, out.Token)
	return out.Token
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, timeout, cond, "timed out waiting for: "+what)
}

// Shapes of SPEC §3 the story reads.
type article struct {
	ID          string  `json:"_id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Image       string  `json:"image"`
	Price       float64 `json:"price"`
	Stock       int     `json:"stock"`
	Enabled     bool    `json:"enabled"`
}

type cartLine struct {
	ArticleID string `json:"articleId"`
	Quantity  int    `json:"quantity"`
	Valid     bool   `json:"valid"`
	Validated bool   `json:"validated"`
}

type cart struct {
	ID       string     `json:"_id"`
	UserID   string     `json:"userId"`
	OrderID  string     `json:"orderId"`
	Articles []cartLine `json:"articles"`
	Enabled  bool       `json:"enabled"`
}

type order struct {
	ID           string  `json:"id"`
	OrderID      string  `json:"orderId"`
	Status       string  `json:"status"`
	UserID       string  `json:"userId"`
	CartID       string  `json:"cartId"`
	TotalPrice   float64 `json:"totalPrice"`
	TotalPayment float64 `json:"totalPayment"`
	Articles     []struct {
		ArticleID    string  `json:"articleId"`
		ID           string  `json:"id"`
		Quantity     int     `json:"quantity"`
		IsValid      bool    `json:"isValid"`
		Valid        bool    `json:"valid"`
		IsValidated  bool    `json:"isValidated"`
		Validated    bool    `json:"validated"`
		UnitaryPrice float64 `json:"unitaryPrice"`
	} `json:"articles"`
	Refunds []struct {
		Amount float64 `json:"amount"`
		Reason string  `json:"reason"`
	} `json:"refunds"`
	Cancellation *struct {
		Reason string `json:"reason"`
	} `json:"cancellation"`
	Reason   string `json:"reason"` // why an invalid order was refused before catalog saw it
	Payments []struct {
		Method string  `json:"method"`
		Amount float64 `json:"amount"`
	} `json:"payments"`
}

// orderSummary is one row of GET /orders.
type orderSummary struct {
	ID         string  `json:"id"`
	Status     string  `json:"status"`
	CartID     string  `json:"cartId"`
	TotalPrice float64 `json:"totalPrice"`
	Articles   int     `json:"articles"`
}

func (o order) String() string { return fmt.Sprintf("order %s (%s)", o.ID, o.Status) }
