package e2e

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// cartMaxLines is the most lines the cart API lets one cart hold (cart.MaxLines).
const cartMaxLines = 100

// TestLargestCheckouts runs largestCheckouts on both MongoDB-wire backends: FerretDB on SQLite
// (the all-in-one fleet) and on PostgreSQL (separate processes, RabbitMQ), whose pools of
// backend connections are the smallest (100 per database, 40 per server). Cart's housekeeping
// keeps its default pace here: the other fleets' fast timers re-validate and re-scan every cart
// every two seconds, a load no deployment has.
func TestLargestCheckouts(t *testing.T) {
	parallel(t)
	defaultPace := []string{"CART_VALIDATE_INTERVAL=5m", "CART_VALIDATE_BATCH=200", "CART_RESEND_INTERVAL=30s"}
	t.Run("embedded", func(t *testing.T) { largestCheckouts(t, startEmbedded(t, defaultPace...)) })
	t.Run("servers", func(t *testing.T) { largestCheckouts(t, startProcesses(t, testkit.RabbitURL(t), defaultPace...)) })
}

// largestCheckouts checks out the largest carts the API allows — one, then two at once, then
// (HOSTILE_LONG=1, make hostile) eight at once — while an admin keeps editing an article and another shopper checks out a
// small order. Every store command is bounded (pkg/mongox, "Store limits"), so the big orders
// are validated, the admin's writes and the small order go through throughout, and the stock
// adds up. Before, one 100-line checkout sent one bulk write of 100 statements and the
// MongoDB-wire server waited for itself for ever.
func largestCheckouts(t *testing.T, s *shop) {
	anon := newClient(t, s.urls)
	admin := anon.as(anon.signIn(s.adminLogin, s.adminPassword))
	const stock = 50
	articles := make([]article, cartMaxLines)
	for i := range articles {
		admin.must(http.MethodPost, "catalog", "/articles", map[string]any{
			"name": fmt.Sprintf("Bulk item %d %s", i, testkit.Name("b")), "description": "One of many", "price": 1.25, "stock": stock,
		}, &articles[i])
	}
	var probe article
	admin.must(http.MethodPost, "catalog", "/articles", map[string]any{"name": "Probe " + testkit.Name("p"), "price": 2, "stock": 1000}, &probe)

	checkedOut := 0
	rounds := []int{1, 2} // make test; make hostile adds eight at once
	if os.Getenv("HOSTILE_LONG") != "" {
		rounds = append(rounds, 8)
	}
	for _, n := range rounds {
		shoppers := make([]*client, n)
		var filled sync.WaitGroup
		for i := range shoppers {
			shoppers[i] = anon.as(anon.signUp("Bulk shopper", testkit.Name("bulk"), "bulk shopper password"))
			filled.Add(1)
			go func() {
				defer filled.Done()
				for _, a := range articles {
					status, err := shoppers[i].tryCall(http.MethodPost, "cart", "/cart/article", map[string]any{"articleId": a.ID, "quantity": 1}, nil)
					if err != nil || status != http.StatusOK {
						t.Errorf("add to cart: %d %v", status, err)
						return
					}
				}
			}()
		}
		filled.Wait()
		require.False(t, t.Failed())

		// While the big orders are reserved: the admin edits an article, a shopper orders one.
		stop := make(chan struct{})
		edits := make(chan []time.Duration, 1)
		go func() { edits <- keepEditing(t, admin, probe.ID, stop) }()
		stopEditing := sync.OnceValue(func() []time.Duration { close(stop); return <-edits })
		defer stopEditing() // also when the round fails: the edits end with the test
		small := anon.as(anon.signUp("Small shopper", testkit.Name("small"), "small shopper password"))
		small.must(http.MethodPost, "cart", "/cart/article", map[string]any{"articleId": probe.ID, "quantity": 1}, nil)

		start := time.Now()
		var checkouts sync.WaitGroup
		for _, u := range shoppers {
			checkouts.Add(1)
			go func() {
				defer checkouts.Done()
				if status, err := u.tryCall(http.MethodPost, "cart", "/cart/checkout", nil, nil); err != nil || status != http.StatusOK {
					t.Errorf("checkout: %d %v", status, err)
				}
			}()
		}
		small.must(http.MethodPost, "cart", "/cart/checkout", nil, nil)
		smallOrder := waitValidated(t, small, 1)
		smallTook := time.Since(start)
		checkouts.Wait()
		for _, u := range shoppers {
			o := waitValidated(t, u, cartMaxLines)
			assert.Len(t, o.Articles, cartMaxLines)
		}
		allTook := time.Since(start)
		took := stopEditing()
		require.NotEmpty(t, took, "the admin's edits went through")
		checkedOut += n
		slices.Sort(took)
		t.Logf("%d checkout(s) of %d lines at once: all validated after %s; a 1-line order meanwhile validated after %s (%s); "+
			"%d admin edits meanwhile, p50 %s, max %s",
			n, cartMaxLines, allTook.Round(time.Millisecond), smallTook.Round(time.Millisecond), smallOrder.Status,
			len(took), took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	}
	for _, a := range []article{articles[0], articles[cartMaxLines/2], articles[cartMaxLines-1]} {
		var got article
		anon.must(http.MethodGet, "catalog", "/articles/"+a.ID, nil, &got)
		assert.Equal(t, stock-checkedOut, got.Stock, "stock of %s", a.Name)
	}
}

// keepEditing changes the article's price until stop closes, and returns how long each change
// took. A change that fails, or that takes the client's whole timeout, fails the test.
func keepEditing(t *testing.T, admin *client, articleID string, stop <-chan struct{}) []time.Duration {
	var took []time.Duration
	for i := 0; ; i++ {
		select {
		case <-stop:
			return took
		case <-time.After(100 * time.Millisecond):
		}
		start := time.Now()
		status, err := admin.tryCall(http.MethodPost, "catalog", "/articles/"+articleID, map[string]any{"price": 2 + float64(i%10)/100}, nil)
		if err != nil || status != http.StatusOK {
			t.Errorf("admin's edit: %d %v", status, err)
			return took
		}
		took = append(took, time.Since(start))
	}
}

// waitValidated waits for the user's latest order to be validated, with lines lines, and
// returns it.
func waitValidated(t *testing.T, u *client, lines int) order {
	t.Helper()
	var o order
	eventually(t, 5*time.Minute, fmt.Sprintf("an order of %d lines validated", lines), func() bool {
		var list []orderSummary
		if status, err := u.tryCall(http.MethodGet, "orders", "/orders", nil, &list); err != nil || status != http.StatusOK || len(list) == 0 {
			return false
		}
		if status, err := u.tryCall(http.MethodGet, "orders", "/orders/"+list[0].ID, nil, &o); err != nil || status != http.StatusOK {
			return false
		}
		require.NotEqual(t, "invalid", o.Status, "%v: %+v", o, o.Articles)
		return o.Status == "validated" && len(o.Articles) == lines
	})
	return o
}
