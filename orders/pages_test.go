package orders

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// GET /orders answers one page of the caller's orders, newest first, as a bare array with how
// many the caller holds in X-Total-Count.
func TestListOrdersPages(t *testing.T) {
	a := newAPI(t)
	var ids []string // oldest first
	for i := range 5 {
		ids = append(ids, mustPlace(t, a.svc, fmt.Sprintf("cart-%d", i), "alice", Line{"A", 1}).ID)
	}
	mustPlace(t, a.svc, "cart-bob", "bob", Line{"A", 1})
	list := func(query, token string) ([]string, string) {
		t.Helper()
		rec := testkit.Serve(t, a.srv.URL, testkit.Request{Method: http.MethodGet, Path: "/orders" + query, Token: token})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := []string{}
		for _, item := range testkit.DecodeJSON[[]map[string]any](t, rec) {
			got = append(got, item["id"].(string))
		}
		return got, rec.Header().Get(web.TotalCountHeader)
	}
	for _, tc := range []struct {
		query, token string
		want         []string
		total        string
	}{
		{"", "ta", []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, "5"},
		{"?size=2", "ta", []string{ids[4], ids[3]}, "5"},
		{"?page=2&size=2", "ta", []string{ids[2], ids[1]}, "5"},
		{"?page=3&size=2", "ta", []string{ids[0]}, "5"},
		{"?page=4&size=2", "ta", []string{}, "5"},
		{"?page=1000000&size=100", "ta", []string{}, "5"},
		{"", "tr", []string{}, "0"},
	} {
		got, total := list(tc.query, tc.token)
		assert.Equal(t, tc.want, got, tc.query)
		assert.Equal(t, tc.total, total, tc.query)
	}
	rec := testkit.Serve(t, a.srv.URL, testkit.Request{Method: http.MethodGet, Path: "/orders?page=9", Token: "ta"})
	assert.Equal(t, "[]\n", rec.Body.String(), "an empty page is [], never null")

	for query, fields := range map[string][]any{
		"page=0": {"page"}, "page=-3": {"page"}, "page=x": {"page"}, "page=1000001": {"page"},
		"size=0": {"size"}, "size=101": {"size"}, "page=0&size=0": {"page", "size"},
	} {
		status, body := a.call(t, http.MethodGet, "/orders?"+query, "ta", "")
		require.Equal(t, http.StatusBadRequest, status, query)
		var paths []any
		for _, m := range field(body, "messages").([]any) {
			paths = append(paths, field(m, "path"))
		}
		assert.Equal(t, fields, paths, query)
	}
}

// A page reads only its own orders: its cost does not grow with how many orders the user holds.
func TestUserOrdersPageCost(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	in := newListingInstances(t, db, newBroker(t), 2)
	a, b := in[0], in[1] // a places the orders, b only lists them
	for i := range 40 {
		mustPlace(t, a.svc, fmt.Sprintf("c:%d", i), "mallory", Line{"A", 1})
	}
	_, _, err := b.store.UserOrdersPage(ctx, "mallory", 1, 1) // b reads the entries once
	require.NoError(t, err)
	for _, page := range []int{2, 7, 20} {
		var got []Order
		var total int
		cost := trips.During(func() {
			got, total, err = b.store.UserOrdersPage(ctx, "mallory", page, 2)
			require.NoError(t, err)
		})
		assert.Len(t, got, 2)
		assert.Equal(t, 40, total)
		t.Logf("page %d of 2 of 40 orders: %d store round trips", page, cost)
		assert.LessOrEqual(t, cost, int64(1+2*3), "a miss past the entries, then each order of the page (placed: a miss, placed, a miss)")
	}
}
