package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	pkgweb "github.com/ecommerce-go/ecommerce/pkg/web"
	"github.com/ecommerce-go/ecommerce/web/api"
)

// The storefront has no cross-origin clients: no route of it (pages, form posts, static
// files, a preflight, the operational endpoints) answers with Access-Control-Allow-Origin.
func TestStorefrontSendsNoCORS(t *testing.T) {
	down := "http://127.0.0.1:1" // the services are not needed to see the headers
	h := NewServer(Deps{Basics: pkgweb.Basics{Log: testkit.Logger(t), Metrics: metrics.New("web")},
		Tokens: tokens.NewChecker(down, time.Minute), Client: api.New(api.URLs{Auth: down, Image: down, Catalog: down, Cart: down, Orders: down})})
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/"}, {http.MethodGet, "/signin"}, {http.MethodPost, "/signin"}, {http.MethodPost, "/cart/add"},
		{http.MethodGet, "/static/style.css"}, {http.MethodGet, "/img/x"}, {http.MethodGet, "/healthz"},
		{http.MethodGet, "/no/such/page"}, {http.MethodOptions, "/"},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader("login=a&password=b"))
		req.Header.Set("Origin", "https://elsewhere.example")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.method == http.MethodOptions {
			req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.NotZero(t, rec.Code)
		for name := range rec.Header() {
			assert.False(t, strings.HasPrefix(name, "Access-Control-"), "%s %s answers %s", tc.method, tc.path, name)
		}
	}
	// The APIs keep theirs.
	rec := httptest.NewRecorder()
	pkgweb.Basics{Log: testkit.Logger(t), Metrics: metrics.New("api")}.NewRouter().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	assert.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
}

// A refused form comes back once, on the page it was refused for, with its values (never a
// password or the CSRF token) and its problems.
func TestRefusedFormRoundTrip(t *testing.T) {
	post := httptest.NewRequest(http.MethodPost, "/orders/abc/payment", nil)
	rec := httptest.NewRecorder()
	refuse(rec, post, "/orders/abc?x=1", &view{
		Form:   url.Values{"amount": {"12,345"}, "method": {"CASH"}, "password": {"secret"}, "csrf": {"token"}},
		Fields: map[string]string{"amount": "form.amount_decimals"}, ErrorKey: "form.fix", ErrorText: "from the service"})
	assert.Equal(t, http.StatusSeeOther, rec.Code)
	assert.Equal(t, "/orders/abc?x=1", rec.Header().Get("Location"), "the browser leaves the POST target")
	cookies := rec.Result().Cookies()
	require.Len(t, cookies, 1)
	assert.True(t, cookies[0].HttpOnly)
	assert.NotContains(t, cookies[0].Value, "secret")

	get := func(path string) (*view, bool, *httptest.ResponseRecorder) {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.AddCookie(cookies[0])
		w := httptest.NewRecorder()
		v := &view{}
		return v, refused(w, r, v), w
	}
	v, ok, w := get("/orders/abc?x=1")
	require.True(t, ok)
	assert.Equal(t, "12,345", v.Value("amount"))
	assert.Equal(t, "CASH", v.Value("method"))
	assert.Empty(t, v.Value("password"))
	assert.Empty(t, v.Value("csrf"))
	assert.Equal(t, "form.amount_decimals", v.Fields["amount"])
	assert.Equal(t, "form.fix", v.ErrorKey)
	assert.Equal(t, "from the service", v.ErrorText)
	require.Len(t, w.Result().Cookies(), 1)
	assert.Negative(t, w.Result().Cookies()[0].MaxAge, "shown once: the cookie is cleared")

	_, ok, _ = get("/orders/other")
	assert.False(t, ok, "another page does not show it")

	// A form too large for a cookie loses its longest values, not its problems.
	rec = httptest.NewRecorder()
	refuse(rec, post, "/admin/articles/new", &view{Form: url.Values{"description": {strings.Repeat("d", 5000)}, "name": {"Desk"}},
		Fields: map[string]string{"price": "form.not_amount"}})
	cookies = rec.Result().Cookies()
	require.Len(t, cookies, 1)
	v, ok, _ = get("/admin/articles/new")
	require.True(t, ok)
	assert.Equal(t, "Desk", v.Value("name"))
	assert.Empty(t, v.Value("description"))
	assert.Equal(t, "form.not_amount", v.Fields["price"])
}

// Amounts typed in forms are read the page's way; a refused one is a field problem.
func TestReadAmount(t *testing.T) {
	for _, tc := range []struct {
		lang, text string
		want       money.Cents
		problem    string
	}{
		{"en", "1,234.50", 123450, ""}, {"en", "1,000", 100000, ""}, {"en", "12.345", 0, "form.amount_decimals"},
		{"en", "32,89", 0, "form.not_amount"}, {"es", "32,89", 3289, ""}, {"es", "1.234,50", 123450, ""},
		{"es", "1,000", 0, "form.amount_decimals"}, {"es", "12.50", 0, "form.not_amount"}, {"es", "", 0, "form.not_amount"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(url.Values{"amount": {tc.text}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r = r.WithContext(context.WithValue(r.Context(), visitKey{}, &visit{lang: tc.lang}))
		v := &view{Fields: map[string]string{}}
		got, ok := readAmount(r, v, "amount")
		assert.Equal(t, tc.problem == "", ok, "%s %q", tc.lang, tc.text)
		assert.Equal(t, tc.problem, v.Fields["amount"], "%s %q", tc.lang, tc.text)
		if ok {
			assert.Equal(t, tc.want, got, "%s %q", tc.lang, tc.text)
		}
	}
}

func TestMoneyOnPages(t *testing.T) {
	en, es := &view{lang: "en"}, &view{lang: "es"}
	assert.Equal(t, "€1,234,567.89", en.Money(123456789))
	assert.Equal(t, "1.234.567,89\u00a0€", es.Money(123456789))
	assert.Equal(t, "32.89", en.AmountField(3289))
	assert.Equal(t, "32,89", es.AmountField(3289), "a Spanish form field")
	assert.Equal(t, "1234,50", es.AmountField(123450))
}

// The page number follows pkg/web's paging rule: out of range is refused, never clamped.
func TestPageParam(t *testing.T) {
	for query, want := range map[string]int{"": 1, "page=1": 1, "page=7": 7} {
		page, ok := pageParam(httptest.NewRequest(http.MethodGet, "/?"+query, nil))
		assert.True(t, ok, query)
		assert.Equal(t, want, page, query)
	}
	for _, query := range []string{"page=0", "page=-1", "page=x", "page=1000001", "page=1.5"} {
		_, ok := pageParam(httptest.NewRequest(http.MethodGet, "/?"+query, nil))
		assert.False(t, ok, query)
	}
}

func TestOrderNumber(t *testing.T) {
	assert.Equal(t, "4F2A9-0C1D7", orderNumber("4f2a90c1d7e8b3a6c5d4e3f2"))
	assert.Equal(t, "AB", orderNumber("ab"))
}

// userNames reads auth's user list only for ids it has not looked for lately, a bounded
// number of pages, and keeps the names for namesTTL; a failure leaves ids unnamed.
func TestUserNames(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	users := make([]api.User, 0, 1500)
	for i := range 1500 { // newest first
		users = append(users, api.User{ID: fmt.Sprintf("u%04d", i), Name: fmt.Sprintf("User %d", i)})
	}
	var calls atomic.Int32
	var down atomic.Bool
	u := &userNames{now: clock.Now, names: map[string]string{}, absent: map[string]time.Time{},
		list: func(ctx context.Context, token, q string, page, size int) (api.UserPage, error) {
			calls.Add(1)
			if down.Load() {
				return api.UserPage{}, &api.Error{Service: "auth", Status: http.StatusServiceUnavailable}
			}
			from, to := pkgweb.PageBounds(page, size, len(users))
			return api.UserPage{Users: users[from:to], Total: int64(len(users))}, nil
		}}
	ctx := context.Background()
	assert.Empty(t, u.Names(ctx, "admin-token", nil))
	assert.Zero(t, calls.Load(), "an empty page asks nothing")
	names := u.Names(ctx, "admin-token", []string{"u0001", "U0150"})
	assert.Equal(t, map[string]string{"u0001": "User 1", "U0150": "User 150"}, names)
	assert.Equal(t, int32(2), calls.Load(), "pages read until both are found")

	u.Names(ctx, "admin-token", []string{"u0001"})
	assert.Equal(t, int32(2), calls.Load(), "known names are not read again")

	users = append([]api.User{{ID: "new1", Name: "Newcomer"}}, users...) // a user signs up
	names = u.Names(ctx, "admin-token", []string{"new1", "u0001"})
	assert.Equal(t, "Newcomer", names["new1"], "a new user is named at once")
	assert.Equal(t, int32(3), calls.Load())

	names = u.Names(ctx, "admin-token", []string{"u1400", "u0001"})
	assert.Equal(t, map[string]string{"u0001": "User 1"}, names, "past the newest 1000 users, shown by id")
	assert.Equal(t, int32(3+namesMaxPages), calls.Load(), "a miss reads at most namesMaxPages pages")
	u.Names(ctx, "admin-token", []string{"u1400"})
	assert.Equal(t, int32(3+namesMaxPages), calls.Load(), "an id not found is not looked for again before namesTTL")

	clock.Add(namesTTL)
	down.Store(true)
	names = u.Names(ctx, "admin-token", []string{"u0001", "u0002"})
	assert.Equal(t, "User 1", names["u0001"], "auth down: the names known stay")
	calls.Store(0)
	u.Names(ctx, "admin-token", []string{"u0002"})
	assert.Zero(t, calls.Load(), "auth down: not asked again before namesRetry")
	clock.Add(namesRetry)
	down.Store(false)
	assert.Equal(t, "User 2", u.Names(ctx, "admin-token", []string{"u0002"})["u0002"])
	assert.True(t, errors.Is(&api.Error{Status: http.StatusServiceUnavailable}, errs.Unavailable))
}
