// Package e2e drives the whole shop over HTTP only, as its users do: once against the all-in-one
// process on embedded defaults (`make run`), once against separate service processes on real
// RabbitMQ, Redis and a MongoDB-wire server.
package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

func TestEmbeddedFleet(t *testing.T) {
	parallel(t)
	s := startEmbedded(t)
	t.Run("story", func(t *testing.T) { story(t, s) })
	t.Run("race for the last units", func(t *testing.T) { raceForStock(t, s, 30, 10) })
	t.Run("listens on loopback only", func(t *testing.T) { loopbackOnly(t, s) })
}

// loopbackOnly checks SPEC §5: the one-command fleet's services answer on 127.0.0.1 and not on
// the machine's other addresses (LISTEN_HOST unset).
func loopbackOnly(t *testing.T, s *shop) {
	var other net.IP
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			other = ipn.IP
			break
		}
	}
	if other == nil {
		t.Skip("this machine has no address but loopback")
	}
	for name, base := range s.urls {
		u, err := url.Parse(base)
		require.NoError(t, err)
		c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		require.NoError(t, err, "%s answers on %s", name, u.Host)
		_ = c.Close()
		_, err = net.DialTimeout("tcp", net.JoinHostPort(other.String(), u.Port()), 5*time.Second)
		assert.Error(t, err, "%s must not answer on %s", name, other)
	}
}

func TestSeparateProcesses(t *testing.T) {
	parallel(t)
	s := startProcesses(t, testkit.RabbitURL(t))
	t.Run("story", func(t *testing.T) { story(t, s) })
	t.Run("race for the last units", func(t *testing.T) { raceForStock(t, s, 30, 10) })
}

// TestBrokerRestart restarts RabbitMQ (a disposable node of the test's own) in the middle of a
// stream of checkouts: every checkout that was answered 200 still ends as an order, validated or
// invalid — nothing acknowledged is lost.
func TestBrokerRestart(t *testing.T) {
	parallel(t)
	node := testkit.StartRabbitNode(t, 5697)
	s := startProcesses(t, node.URL)
	anon := newClient(t, s.urls)
	admin := anon.as(anon.signIn(s.adminLogin, s.adminPassword))
	var a article
	admin.must(http.MethodPost, "catalog", "/articles", map[string]any{"name": "Mug", "description": "Holds tea", "price": 8, "stock": 1000}, &a)

	const shoppers = 12
	var checkedOut []*client
	for i := range shoppers {
		if i == shoppers/3 {
			node.Stop()
			t.Log("broker stopped")
		}
		if i == shoppers/3*2 {
			node.Start()
			t.Log("broker started again")
		}
		u := anon.as(anon.signUp("Mug buyer", testkit.Name("mug"), "mug buyer password"))
		if u.call(http.MethodPost, "cart", "/cart/article", map[string]any{"articleId": a.ID, "quantity": 1}, nil) != http.StatusOK {
			continue
		}
		if status := u.call(http.MethodPost, "cart", "/cart/checkout", nil, nil); status == http.StatusOK {
			checkedOut = append(checkedOut, u)
		} else {
			t.Logf("checkout %d answered %d", i, status)
		}
	}
	t.Logf("%d of %d checkouts answered 200", len(checkedOut), shoppers)
	require.NotEmpty(t, checkedOut)
	eventually(t, 90*time.Second, "every accepted checkout ends validated or invalid", func() bool {
		for _, u := range checkedOut {
			var list []orderSummary
			u.must(http.MethodGet, "orders", "/orders", nil, &list)
			if len(list) != 1 || (list[0].Status != "validated" && list[0].Status != "invalid") {
				return false
			}
		}
		return true
	})
}

// pngDataURL makes a small picture to upload.
func pngDataURL(t testing.TB, w, h int) string {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// story is the user story of the seed, from the admin stocking the shop to the user paying.
func story(t *testing.T, s *shop) {
	anon := newClient(t, s.urls)
	admin := anon.as(anon.signIn(s.adminLogin, s.adminPassword))

	// The admin uploads a picture and stocks two articles.
	var img struct{ ID string }
	admin.must(http.MethodPost, "image", "/images/create", map[string]string{"image": pngDataURL(t, 400, 300)}, &img)
	require.NotEmpty(t, img.ID)
	var lamp, desk article
	admin.must(http.MethodPost, "catalog", "/articles", map[string]any{
		"name": "Reading lamp", "description": "Warm light for late chapters", "image": img.ID, "price": 24.50, "stock": 5,
	}, &lamp)
	admin.must(http.MethodPost, "catalog", "/articles", map[string]any{
		"name": "Oak desk", "description": "Solid oak, seats two", "image": "", "price": 310, "stock": 2,
	}, &desk)
	require.Equal(t, 5, lamp.Stock)

	// A shopper signs up, searches and looks at the article with its thumbnail.
	login := testkit.Name("shopper")
	user := anon.as(anon.signUp("Shopper", login, "correct horse battery"))
	var me struct {
		ID          string   `json:"id"`
		Login       string   `json:"login"`
		Permissions []string `json:"permissions"`
	}
	user.must(http.MethodGet, "auth", "/users/current", nil, &me)
	assert.Equal(t, []string{"user"}, me.Permissions)

	var found []article
	anon.must(http.MethodGet, "catalog", "/articles/search/reading%20LAMP", nil, &found)
	require.True(t, containsArticle(found, lamp.ID), "search finds the lamp: %+v", found)
	var got article
	anon.must(http.MethodGet, "catalog", "/articles/"+lamp.ID, nil, &got)
	assert.Equal(t, "Reading lamp", got.Name)
	status, thumb := anon.raw(http.MethodGet, "image", "/images/"+got.Image+"/jpeg?Size=160", nil)
	require.Equal(t, http.StatusOK, status)
	cfg, format, err := image.DecodeConfig(bytes.NewReader(thumb))
	require.NoError(t, err)
	assert.Equal(t, "jpeg", format)
	assert.Equal(t, 160, cfg.Width)

	// Cart: add, change, validate (the async check over RabbitMQ marks the line valid).
	var c cart
	user.must(http.MethodPost, "cart", "/cart/article", map[string]any{"articleId": lamp.ID, "quantity": 1}, &c)
	user.must(http.MethodPost, "cart", "/cart/article/"+lamp.ID+"/increment", nil, &c)
	user.must(http.MethodPost, "cart", "/cart/article", map[string]any{"articleId": desk.ID, "quantity": 1}, &c)
	user.must(http.MethodDelete, "cart", "/cart/article/"+desk.ID, nil, &c)
	require.Len(t, c.Articles, 1)
	assert.Equal(t, 2, c.Articles[0].Quantity)
	eventually(t, 15*time.Second, "cart line validated by catalog", func() bool {
		user.must(http.MethodGet, "cart", "/cart", nil, &c)
		return len(c.Articles) == 1 && c.Articles[0].Validated && c.Articles[0].Valid
	})
	var check struct {
		Errors   []map[string]string `json:"errors"`
		Warnings []map[string]string `json:"warnings"`
	}
	user.must(http.MethodGet, "cart", "/cart/validate", nil, &check)
	assert.Empty(t, check.Errors)
	assert.Empty(t, check.Warnings)

	// Checkout closes the cart; the order is placed, validated by catalog, stock reserved.
	var closed cart
	user.must(http.MethodPost, "cart", "/cart/checkout", nil, &closed)
	assert.False(t, closed.Enabled)
	var fresh cart
	user.must(http.MethodGet, "cart", "/cart", nil, &fresh)
	assert.NotEqual(t, closed.ID, fresh.ID)
	assert.Empty(t, fresh.Articles)

	var o order
	eventually(t, 20*time.Second, "order validated", func() bool {
		var list []orderSummary
		user.must(http.MethodGet, "orders", "/orders", nil, &list)
		if len(list) != 1 {
			return false
		}
		user.must(http.MethodGet, "orders", "/orders/"+list[0].ID, nil, &o)
		return o.Status == "validated"
	})
	assert.Equal(t, closed.ID, o.CartID)
	assert.InDelta(t, 49.0, o.TotalPrice, 0.001)
	require.Len(t, o.Articles, 1)
	line := o.Articles[0]
	assert.Equal(t, lamp.ID, line.ID, "the course's web client reads id, valid and validated")
	assert.True(t, line.Valid && line.Validated && line.IsValid && line.IsValidated, "%+v", line)
	assert.InDelta(t, 24.5, line.UnitaryPrice, 0.001)

	// Every service serves its API document and the page the course's web client links to.
	for _, svc := range []string{"auth", "image", "catalog", "cart", "orders"} {
		assert.Equal(t, http.StatusOK, anon.call(http.MethodGet, svc, "/docs/index.html", nil, nil), svc)
		var doc map[string]any
		anon.must(http.MethodGet, svc, "/openapi.json", nil, &doc)
		assert.Equal(t, "3.0.3", doc["openapi"], svc)
	}
	anon.must(http.MethodGet, "catalog", "/articles/"+lamp.ID, nil, &got)
	assert.Equal(t, 3, got.Stock, "two lamps reserved")

	// Another shopper cannot see or pay it; the owner pays and the order is payment_defined.
	other := anon.as(anon.signUp("Other", testkit.Name("other"), "another good password"))
	assert.Equal(t, http.StatusNotFound, other.call(http.MethodGet, "orders", "/orders/"+o.ID, nil, nil))
	assert.Equal(t, http.StatusNotFound, other.call(http.MethodPost, "orders", "/orders/"+o.ID+"/payment",
		map[string]any{"method": "CASH", "amount": 49}, nil))
	user.must(http.MethodPost, "orders", "/orders/"+o.ID+"/payment", map[string]any{"method": "CREDIT", "amount": 49}, &o)
	assert.Equal(t, "payment_defined", o.Status)
	var rebuilt order
	admin.must(http.MethodGet, "orders", "/orders/"+o.ID+"/update", nil, &rebuilt)
	assert.Equal(t, o.Status, rebuilt.Status)
	assert.Len(t, rebuilt.Payments, 1, "rebuilding never duplicates payments")

	// Sign-out is honoured by every service within a second.
	user.must(http.MethodGet, "auth", "/users/signout", nil, nil)
	start := time.Now()
	eventually(t, time.Second, "every service refuses the signed-out token", func() bool {
		return user.call(http.MethodGet, "auth", "/users/current", nil, nil) == 401 &&
			user.call(http.MethodGet, "cart", "/cart", nil, nil) == 401 &&
			user.call(http.MethodGet, "orders", "/orders", nil, nil) == 401 &&
			user.call(http.MethodPost, "image", "/images/create", map[string]string{"image": pngDataURL(t, 2, 2)}, nil) == 401 &&
			user.call(http.MethodPost, "catalog", "/articles", map[string]any{"name": "x", "price": 1, "stock": 1}, nil) == 401
	})
	t.Logf("sign-out honoured everywhere after %s", time.Since(start))
}

func containsArticle(list []article, id string) bool {
	for _, a := range list {
		if a.ID == id {
			return true
		}
	}
	return false
}

// raceForStock has shoppers each buy one unit of an article with only units in stock, all at
// once: exactly units orders are validated, the rest invalid, and the stock ends at zero.
func raceForStock(t *testing.T, s *shop, shoppers, units int) {
	anon := newClient(t, s.urls)
	admin := anon.as(anon.signIn(s.adminLogin, s.adminPassword))
	var a article
	admin.must(http.MethodPost, "catalog", "/articles", map[string]any{
		"name": "Limited print " + testkit.Name("p"), "description": "Only a few", "price": 10, "stock": units,
	}, &a)

	users := make([]*client, shoppers)
	for i := range users {
		users[i] = anon.as(anon.signUp(fmt.Sprintf("Racer %d", i), testkit.Name("racer"), "racing password 1"))
		users[i].must(http.MethodPost, "cart", "/cart/article", map[string]any{"articleId": a.ID, "quantity": 1}, nil)
	}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u.must(http.MethodPost, "cart", "/cart/checkout", nil, nil)
		}()
	}
	wg.Wait()

	statuses := map[string]int{}
	eventually(t, 90*time.Second, "every order validated or invalid", func() bool {
		statuses = map[string]int{}
		for _, u := range users {
			var list []orderSummary
			u.must(http.MethodGet, "orders", "/orders", nil, &list)
			if len(list) != 1 {
				return false
			}
			statuses[list[0].Status]++
		}
		return statuses["validated"]+statuses["invalid"] == shoppers
	})
	assert.Equal(t, units, statuses["validated"], "statuses: %v", statuses)
	assert.Equal(t, shoppers-units, statuses["invalid"], "statuses: %v", statuses)
	anon.must(http.MethodGet, "catalog", "/articles/"+a.ID, nil, &a)
	assert.Equal(t, 0, a.Stock)
}
