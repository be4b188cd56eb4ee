package cart

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/contract/contracttest"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

func TestTokens(t *testing.T) {
	f := newFixture(t)
	f.auth.Add("good", "u1")
	for _, token := range []string{"", "not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.x"} {
		for _, route := range [][2]string{{"GET", "/cart"}, {"POST", "/cart/article"}, {"POST", "/cart/article/" + articleA + "/increment"},
			{"POST", "/cart/article/" + articleA + "/decrement"}, {"DELETE", "/cart/article/" + articleA},
			{"GET", "/cart/validate"}, {"POST", "/cart/checkout"}} {
			status, body := f.do(route[0], route[1], token, nil)
			assert.Equal(t, http.StatusUnauthorized, status, "%s %s with %q: %s", route[0], route[1], token, body)
			assert.Contains(t, string(body), `"error"`)
		}
	}
	status, _ := f.do("GET", "/cart", "good", nil)
	assert.Equal(t, http.StatusOK, status)
}

func TestCartLines(t *testing.T) {
	f := newFixture(t)
	f.auth.Add("tok", "u1")

	empty := f.cart("GET", "/cart", "tok", nil)
	assert.Equal(t, "u1", empty.UserID)
	assert.True(t, empty.Enabled)
	assert.Empty(t, empty.OrderID)
	assert.NotNil(t, empty.Articles)
	assert.False(t, empty.Created.IsZero())
	_, raw := f.do("GET", "/cart", "tok", nil)
	assert.Contains(t, string(raw), `"articles":[]`)
	var shape map[string]any
	require.NoError(t, json.Unmarshal(raw, &shape))
	for _, k := range []string{"_id", "userId", "orderId", "articles", "enabled", "created", "updated"} {
		assert.Contains(t, shape, k)
	}
	assert.Equal(t, empty.ID, f.cart("GET", "/cart", "tok", nil).ID, "GET twice gives the same cart")
	assert.Equal(t, 1, f.countStates(bson.D{{Key: "userId", Value: "u1"}}), "the first GET stored the new cart, the second nothing")

	c := f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleA, "quantity": 2})
	require.Len(t, c.Articles, 1)
	assert.Equal(t, Line{ArticleID: articleA, Quantity: 2}, c.Articles[0])
	assert.Equal(t, empty.ID, c.ID)

	c = f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleA, "quantity": 3, "_id": "ignored"})
	assert.Equal(t, 5, c.Articles[0].Quantity, "adding an article already in the cart adds to its quantity")
	c = f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleB, "quantity": 1})
	assert.Len(t, c.Articles, 2)

	c = f.cart("POST", "/cart/article/"+articleA+"/increment", "tok", map[string]any{"articleId": articleA})
	assert.Equal(t, 6, c.Articles[0].Quantity)
	c = f.cart("POST", "/cart/article/"+articleA+"/decrement", "tok", nil)
	assert.Equal(t, 5, c.Articles[0].Quantity)
	c = f.cart("POST", "/cart/article/"+articleB+"/decrement", "tok", nil)
	require.Len(t, c.Articles, 1, "a line at 0 is removed")
	assert.Equal(t, articleA, c.Articles[0].ArticleID)
	c = f.cart("DELETE", "/cart/article/"+articleA, "tok", nil)
	assert.Empty(t, c.Articles)
	assert.NotNil(t, c.Articles)

	c = f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleA, "quantity": 1})
	got := f.cart("GET", "/cart", "tok", nil)
	assert.Equal(t, c, got, "GET answers what the last change answered")
}

func TestCartErrors(t *testing.T) {
	f := newFixture(t)
	f.auth.Add("tok", "u1")
	before := f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleA, "quantity": 1})

	tests := []struct {
		name, method, path string
		body               any
		status             int
		field              string // "path:rule" of the first field message
	}{
		{"malformed JSON", "POST", "/cart/article", `{"articleId":`, 400, ""},
		{"empty body", "POST", "/cart/article", ``, 400, ""},
		{"quantity missing", "POST", "/cart/article", map[string]any{"articleId": articleB}, 400, "quantity:required"},
		{"quantity zero", "POST", "/cart/article", map[string]any{"articleId": articleB, "quantity": 0}, 400, "quantity:positive_integer"},
		{"quantity negative", "POST", "/cart/article", map[string]any{"articleId": articleB, "quantity": -2}, 400, "quantity:positive_integer"},
		{"quantity fraction", "POST", "/cart/article", map[string]any{"articleId": articleB, "quantity": 1.5}, 400, "quantity:positive_integer"},
		{"quantity string", "POST", "/cart/article", map[string]any{"articleId": articleB, "quantity": "2"}, 400, "quantity:type"},
		{"quantity too big", "POST", "/cart/article", map[string]any{"articleId": articleB, "quantity": 1001}, 400, "quantity:max"},
		{"line would pass the cap", "POST", "/cart/article", map[string]any{"articleId": articleA, "quantity": 1000}, 400, "quantity:line_too_large"},
		{"articleId missing", "POST", "/cart/article", map[string]any{"quantity": 1}, 400, "articleId:article_id"},
		{"articleId malformed", "POST", "/cart/article", map[string]any{"articleId": "abc", "quantity": 1}, 400, "articleId:article_id"},
		{"articleId operator", "POST", "/cart/article", map[string]any{"articleId": map[string]any{"$ne": ""}, "quantity": 1}, 400, "articleId:type"},
		{"increment missing line", "POST", "/cart/article/" + articleB + "/increment", nil, 404, ""},
		{"decrement missing line", "POST", "/cart/article/" + articleB + "/decrement", nil, 404, ""},
		{"delete missing line", "DELETE", "/cart/article/" + articleB, nil, 404, ""},
		{"increment malformed id", "POST", "/cart/article/xyz/increment", nil, 400, "articleId:article_id"},
		{"delete malformed id", "DELETE", "/cart/article/xyz", nil, 400, "articleId:article_id"},
		{"unknown route", "GET", "/cart/nope", nil, 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, raw := f.do(tc.method, tc.path, "tok", tc.body)
			require.Equal(t, tc.status, status, string(raw))
			var body struct {
				Error    string `json:"error"`
				Messages []struct{ Path, Message, Code string }
			}
			require.NoError(t, json.Unmarshal(raw, &body), string(raw))
			assert.NotEmpty(t, body.Error)
			if tc.field != "" {
				require.NotEmpty(t, body.Messages, string(raw))
				assert.Equal(t, tc.field, body.Messages[0].Path+":"+body.Messages[0].Code)
			}
		})
	}
	assert.Equal(t, before, f.cart("GET", "/cart", "tok", nil), "bad requests change nothing")
}

func TestValidate(t *testing.T) {
	f := newFixture(t)
	f.auth.Add("tok", "u1")
	report := func() (int, Report) {
		status, raw := f.do("GET", "/cart/validate", "tok", nil)
		var r Report
		if status == http.StatusOK {
			require.NoError(t, json.Unmarshal(raw, &r))
		}
		return status, r
	}

	status, r := report()
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, Report{Errors: []Problem{}, Warnings: []Problem{}}, r, "empty lists, not null")

	for _, id := range []string{articleA, articleLow, articleOff, articleUnknown} {
		f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": id, "quantity": 2})
	}
	status, r = report()
	require.Equal(t, http.StatusOK, status)
	assert.ElementsMatch(t, []Problem{
		{ArticleID: articleOff, Message: "article disabled", Code: errs.CodeArticleDisabled},
		{ArticleID: articleUnknown, Message: "article not found", Code: errs.CodeArticleNotFound},
	}, r.Errors)
	assert.Equal(t, []Problem{{ArticleID: articleLow, Message: "not enough stock", Code: errs.CodeNotEnoughStock}}, r.Warnings)

	f.catalog.setDown(true)
	status, _ = report()
	assert.Equal(t, http.StatusServiceUnavailable, status)
}

func TestCheckout(t *testing.T) {
	f := newFixture(t)
	f.auth.Add("tok", "u1")
	orders := newCounter()
	testkit.Consume(t, f.bus, bus.Subscription{Queue: "order"}, orders.handle)

	refused := func(code string) (string, []Problem) {
		status, raw := f.do("POST", "/cart/checkout", "tok", nil)
		require.Equal(t, http.StatusBadRequest, status, string(raw))
		var body struct {
			Error  string    `json:"error"`
			Code   string    `json:"code"`
			Errors []Problem `json:"errors"`
		}
		require.NoError(t, json.Unmarshal(raw, &body))
		assert.Equal(t, code, body.Code)
		assert.NotNil(t, body.Errors)
		return body.Error, body.Errors
	}
	msg, problems := refused("cart_empty")
	assert.Contains(t, msg, "empty")
	assert.Empty(t, problems)

	f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleOff, "quantity": 1})
	f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleLow, "quantity": 5})
	_, problems = refused("checkout_refused")
	assert.Equal(t, []Problem{{ArticleID: articleOff, Message: "article disabled", Code: errs.CodeArticleDisabled}}, problems)

	f.catalog.setDown(true)
	status, _ := f.do("POST", "/cart/checkout", "tok", nil)
	assert.Equal(t, http.StatusServiceUnavailable, status)
	f.catalog.setDown(false)

	open := f.cart("DELETE", "/cart/article/"+articleOff, "tok", nil)
	closed := f.cart("POST", "/cart/checkout", "tok", nil)
	assert.Equal(t, open.ID, closed.ID)
	assert.False(t, closed.Enabled)
	assert.Equal(t, []Line{{ArticleID: articleLow, Quantity: 5}}, closed.Articles, "stock warnings do not block checkout")

	orders.drain(t, f.bus, "order", "order")
	require.Equal(t, 1, orders.count("place_order"))
	msgBody := contracttest.Produced(t, orders.lastOf(contract.TypePlaceOrder))
	assert.Equal(t, contract.PlaceOrder{CartID: closed.ID, UserID: "u1", Articles: []contract.OrderLine{{ArticleID: articleLow, Quantity: 5}}}, msgBody)

	next := f.cart("GET", "/cart", "tok", nil)
	assert.NotEqual(t, closed.ID, next.ID)
	assert.True(t, next.Enabled)
	assert.Empty(t, next.Articles)
	msg, _ = refused("cart_empty")
	assert.Contains(t, msg, "empty", "the new cart is empty")
}

func TestConcurrentFirstRequests(t *testing.T) {
	f := newFixture(t)
	f.auth.Add("tok", "u1")
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if i%2 == 0 {
				ids[i] = f.cart("GET", "/cart", "tok", nil).ID
				return
			}
			// Odd ones add a different article each, concurrently with the first GETs.
			article := []string{articleA, articleB, articleLow, articleOff}[i/2]
			ids[i] = f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": article, "quantity": 1}).ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		assert.Equal(t, ids[0], id, "every request saw the same cart")
	}
	assert.Equal(t, 1, len(distinct(t, f, "u1")), "one cart for the user")
	c := f.cart("GET", "/cart", "tok", nil)
	assert.Len(t, c.Articles, 4, "no concurrent change was lost: %+v", c.Articles)
}

// distinct lists the cart ids stored for a user.
func distinct(t *testing.T, f *fixture, userID string) []string {
	states, err := f.store.find(context.Background(), bson.D{{Key: "userId", Value: userID}}, nil)
	require.NoError(t, err)
	seen := map[string]bool{}
	var ids []string
	for _, s := range states {
		if !seen[s.ID] {
			seen[s.ID] = true
			ids = append(ids, s.ID)
		}
	}
	return ids
}

func TestCheckoutRace(t *testing.T) {
	f := newFixture(t)
	f.auth.Add("tok", "u1")
	orders := newCounter()
	testkit.Consume(t, f.bus, bus.Subscription{Queue: "order"}, orders.handle)
	open := f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleA, "quantity": 1})

	const n = 4
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { statuses[i], _ = f.do("POST", "/cart/checkout", "tok", nil) })
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
			continue
		}
		// A loser either lost the race on the cart (409) or came after it and found the next,
		// empty cart (400).
		assert.Contains(t, []int{http.StatusConflict, http.StatusBadRequest}, s)
	}
	assert.Equal(t, 1, ok, "statuses %v", statuses)
	assert.Equal(t, 1, f.countStates(bson.D{{Key: "enabled", Value: false}}), "one closed cart")
	latest, err := f.store.Get(context.Background(), open.ID)
	require.NoError(t, err)
	assert.False(t, latest.Enabled)

	orders.drain(t, f.bus, "order", "order")
	assert.Equal(t, 1, orders.count("place_order"), "one place_order")
}

func TestConcurrentLineChanges(t *testing.T) {
	f := newFixture(t)
	f.auth.Add("tok", "u1")
	f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleA, "quantity": 10})
	const n = 6
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			op := "/increment"
			if i%2 == 1 {
				op = "/decrement"
			}
			f.cart("POST", "/cart/article/"+articleA+op, "tok", nil)
			f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleB, "quantity": 1})
		})
	}
	wg.Wait()
	c := f.cart("GET", "/cart", "tok", nil)
	require.Len(t, c.Articles, 2)
	assert.Equal(t, 10, c.Articles[0].Quantity, "as many increments as decrements")
	assert.Equal(t, n, c.Articles[1].Quantity, "every add counted once")
}

func TestPrune(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.svc.Add(ctx, "u1", articleA, 1)
	require.NoError(t, err)
	_, err = f.svc.Add(ctx, "u1", articleB, 1)
	require.NoError(t, err)
	_, err = f.svc.Add(ctx, "u2", articleB, 1)
	require.NoError(t, err)
	require.Equal(t, 3, f.countStates(bson.D{}))

	n, err := f.store.Prune(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	assert.Zero(t, n, "young states stay")

	n, err = f.store.Prune(ctx, time.Now().Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only the superseded state goes")
	c, err := f.svc.Open(ctx, "u1")
	require.NoError(t, err)
	assert.Len(t, c.Articles, 2)
	assert.Equal(t, 2, c.Version)
}

// Hex is case-insensitive: an article id in upper case names the same article, so it lands on
// the same line, and the stock check sees the whole quantity.
func TestArticleIDCase(t *testing.T) {
	f := newFixture(t)
	f.auth.Add("tok", "u1")
	upper := strings.ToUpper(articleLow) // stock 1
	f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": upper, "quantity": 1})
	c := f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleLow, "quantity": 1})
	require.Len(t, c.Articles, 1, "one article, one line")
	assert.Equal(t, Line{ArticleID: articleLow, Quantity: 2}, Line{ArticleID: c.Articles[0].ArticleID, Quantity: c.Articles[0].Quantity})

	status, raw := f.do("GET", "/cart/validate", "tok", nil)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(raw), `"warnings":[{"articleId":"`+articleLow+`","message":"not enough stock","code":"not_enough_stock"}]`)

	c = f.cart("POST", "/cart/article/"+upper+"/increment", "tok", nil)
	assert.Equal(t, 3, c.Articles[0].Quantity)
	c = f.cart("DELETE", "/cart/article/"+upper, "tok", nil)
	assert.Empty(t, c.Articles)
}

// A cart holds at most MaxLines articles (orders takes at most 500 in one place_order).
func TestLineCap(t *testing.T) {
	f := newFixture(t)
	f.auth.Add("tok", "u1")
	full := newCart("u1", 1, stamp())
	for i := range MaxLines - 1 {
		full.Articles = append(full.Articles, Line{ArticleID: fmt.Sprintf("%024x", i), Quantity: 1})
	}
	full.Articles = append(full.Articles, Line{ArticleID: articleA, Quantity: 1})
	full.Version = 1
	require.NoError(t, f.svc.append(context.Background(), full))

	status, raw := f.do("POST", "/cart/article", "tok", map[string]any{"articleId": articleB, "quantity": 1})
	assert.Equal(t, http.StatusBadRequest, status, string(raw))
	assert.Contains(t, string(raw), `"path":"articleId"`)
	c := f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleA, "quantity": 1})
	assert.Len(t, c.Articles, MaxLines, "a line already there still takes more")
	assert.Equal(t, 2, c.Articles[MaxLines-1].Quantity)
}

// Catalog's answers keep changing a cart while it is checked out (a large cart whose lines are
// being validated): the checkout validates its lines once and still ends, instead of asking the
// catalog again after every answer that changed the cart meanwhile.
func TestCheckoutWhileAnswersArrive(t *testing.T) {
	f := newFixture(t)
	f.auth.Add("tok", "u1")
	f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleA, "quantity": 1})
	open := f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleB, "quantity": 2})
	var mu sync.Mutex
	lookups, valid := 0, false
	f.catalog.mu.Lock()
	f.catalog.onLookup = func() {
		mu.Lock()
		defer mu.Unlock()
		lookups++
		valid = !valid // every answer differs from the one before, so each is a change
		assert.NoError(t, f.svc.recordValidation(context.Background(),
			contract.ArticleValid{ReferenceID: open.ID, ArticleID: articleA, Valid: valid}))
	}
	f.catalog.mu.Unlock()
	closed := f.cart("POST", "/cart/checkout", "tok", nil)
	assert.False(t, closed.Enabled)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 2, lookups, "the lines were validated once")
}
