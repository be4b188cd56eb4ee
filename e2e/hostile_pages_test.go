package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ecommerce-go/ecommerce/auth"
	cartsvc "github.com/ecommerce-go/ecommerce/cart"
	"github.com/ecommerce-go/ecommerce/catalog"
	imagesvc "github.com/ecommerce-go/ecommerce/image"
	orderssvc "github.com/ecommerce-go/ecommerce/orders"
	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/web"
)

// One shopper must not be able to hurt the others: lists that grow with users answer bounded
// pages, a return address cannot send a person to another site, and names cannot carry the
// bidirectional controls that make text show as something it does not say.
func TestHostilePagesAndText(t *testing.T) {
	parallel(t)
	const crowd, ordersPlaced = 2000, 60
	// A crowd of accounts, as sign-ups over time would leave them, written straight to auth's
	// store in its stored shapes before it starts (2,000 sign-ups through bcrypt would take
	// minutes): each user and its entry in the users list (auth/userlist.go), and the list's head.
	f := startPagesFleet(t, func(ctx context.Context, db *mongo.Database) {
		users := make([]any, 0, crowd)
		entries := make([]any, 0, crowd)
		for i := range crowd {
			login := fmt.Sprintf("crowd-%04d", i)
			id := bson.NewObjectID()
			users = append(users, bson.D{{Key: "_id", Value: id}, {Key: "name", Value: "Crowd " + login},
				{Key: "login", Value: login}, {Key: "loginKey", Value: login}, {Key: "password", Value: []byte("x")},
				{Key: "permissions", Value: bson.A{"user"}}, {Key: "enabled", Value: true}})
			n := i + 1
			entries = append(entries, bson.D{{Key: "_id", Value: strconv.Itoa(n)}, {Key: "n", Value: n}, {Key: "userId", Value: id}})
		}
		_, err := db.Collection("users").InsertMany(ctx, users)
		require.NoError(t, err)
		_, err = db.Collection("user_list").InsertMany(ctx, entries)
		require.NoError(t, err)
		_, err = db.Collection("user_list_heads").InsertOne(ctx, bson.D{{Key: "_id", Value: "head"}, {Key: "n", Value: crowd}})
		require.NoError(t, err)
	})
	api := newClient(t, f.urls)
	admin := api.as(api.signIn(adminLogin, adminPassword))
	malloryLogin := "mallory-" + testkit.Name("m")
	malloryToken := api.signUp("Mallory", malloryLogin, "mallory password")
	mallory := api.as(malloryToken)
	var me struct{ ID string }
	mallory.must(http.MethodGet, "auth", "/users/current", nil, &me)

	t.Run("the users list answers pages", func(t *testing.T) {
		total := strconv.Itoa(crowd + 2) // and the admin and Mallory

		for _, tc := range []struct {
			query      string
			items      int
			total      string
			firstLogin string
		}{
			{"", 20, total, malloryLogin}, // newest first: Mallory, the admin, then the crowd
			{"?size=100", 100, total, malloryLogin},
			{"?page=20&size=100", 100, total, "crowd-0101"},
			{"?page=21&size=100", 2, total, "crowd-0001"},
			{"?page=22&size=100", 0, total, ""},
			{"?q=CROWD-01&size=100", 100, "100", "crowd-0199"},
			{"?q=crowd-0042", 1, "1", "crowd-0042"},
		} {
			start := time.Now()
			rec := testkit.Serve(t, f.urls["auth"], testkit.Request{Method: http.MethodGet, Path: "/users/all" + tc.query, Token: admin.token})
			took := time.Since(start)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			var page []struct{ Login string }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &page))
			assert.NotNil(t, page, "[] never null")
			assert.Len(t, page, tc.items, tc.query)
			assert.Equal(t, tc.total, rec.Header().Get("X-Total-Count"), tc.query)
			if tc.firstLogin != "" && len(page) > 0 {
				assert.Equal(t, tc.firstLogin, page[0].Login, tc.query)
			}
			t.Logf("GET /users/all%s of %s users: %d users, %d bytes, %s", tc.query, total, len(page), rec.Body.Len(), took.Round(time.Millisecond))
		}
		// What one answer of every user, as the list was before it paged, would weigh.
		rec := testkit.Serve(t, f.urls["auth"], testkit.Request{Method: http.MethodGet, Path: "/users/all?size=100", Token: admin.token})
		t.Logf("every user in one answer would be about %d KB; the largest page is %d KB", rec.Body.Len()*(crowd+2)/100>>10, rec.Body.Len()>>10)
		for _, query := range []string{"?size=100000", "?page=0", "?size=-1"} {
			status, raw := admin.raw(http.MethodGet, "auth", "/users/all"+query, nil)
			assert.Equal(t, http.StatusBadRequest, status, "%s: %s", query, raw)
		}
	})

	t.Run("the orders list answers pages", func(t *testing.T) {
		// Mallory's many orders, as her checkouts over weeks would leave them: place_order
		// messages as cart sends them (the articles are unknown: every order ends invalid).
		ctx := context.Background()
		for i := range ordersPlaced {
			require.NoError(t, bus.Send(ctx, f.bus, contract.ExchangeOrder, contract.QueueOrder, contract.TypePlaceOrder,
				contract.PlaceOrder{CartID: fmt.Sprintf("%s-cart-%02d", me.ID, i), UserID: me.ID,
					Articles: []contract.OrderLine{{ArticleID: "000000000000000000000000", Quantity: 1}}}))
		}
		// An order is listed just before its first event is stored, and a page leaves out a
		// listed order not stored yet: wait until every order is both.
		eventually(t, 30*time.Second, "every order listed and stored", func() bool {
			rec := testkit.Serve(t, f.urls["orders"], testkit.Request{Method: http.MethodGet, Path: "/orders?size=100", Token: malloryToken})
			var all []struct{ ID string }
			return rec.Code == http.StatusOK && json.Unmarshal(rec.Body.Bytes(), &all) == nil && len(all) == ordersPlaced
		})
		seen := map[string]bool{}
		var created [][]time.Time // of each page
		for page := 1; page <= 4; page++ {
			start := time.Now()
			rec := testkit.Serve(t, f.urls["orders"], testkit.Request{Method: http.MethodGet, Path: fmt.Sprintf("/orders?page=%d", page), Token: malloryToken})
			took := time.Since(start)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			var list []struct {
				ID      string
				Created time.Time
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
			assert.NotNil(t, list, "[] never null")
			assert.Equal(t, strconv.Itoa(ordersPlaced), rec.Header().Get("X-Total-Count"))
			assert.Len(t, list, min(20, max(0, ordersPlaced-(page-1)*20)), "page %d", page)
			var times []time.Time
			for _, o := range list {
				assert.False(t, seen[o.ID], "order %s on two pages", o.ID)
				seen[o.ID] = true
				times = append(times, o.Created)
			}
			created = append(created, times)
			t.Logf("GET /orders?page=%d of %d orders: %d orders, %d bytes, %s", page, ordersPlaced, len(list), rec.Body.Len(), took.Round(time.Millisecond))
		}
		// Newest first. Orders placed at the same moment keep the order they were listed in,
		// which their creation times, milliseconds apart, may not follow: pages 1 and 3 are
		// compared, 20 orders apart.
		assert.True(t, slices.MinFunc(created[0], time.Time.Compare).After(slices.MaxFunc(created[2], time.Time.Compare)), "newest first")
		assert.Len(t, seen, ordersPlaced, "the pages together hold every order once")
		other := api.as(api.signUp("Olga", "olga-"+testkit.Name("o"), "olga password 1"))
		status, raw := other.raw(http.MethodGet, "orders", "/orders", nil)
		assert.Equal(t, http.StatusOK, status)
		assert.JSONEq(t, "[]", string(raw), "another shopper's list holds none of them")
		status, _ = mallory.raw(http.MethodGet, "orders", "/orders?size=1000", nil)
		assert.Equal(t, http.StatusBadRequest, status)
	})

	t.Run("the console pages users and a shopper's orders", func(t *testing.T) {
		v := newVisitor(t, f.urls["web"])
		v.get("/")
		p := v.post("/signin", url.Values{"login": {adminLogin}, "password": {adminPassword}})
		require.Equal(t, http.StatusOK, p.status, p.body)
		p = v.get("/admin/users")
		require.Equal(t, http.StatusOK, p.status)
		assert.Equal(t, 20, strings.Count(p.body, `<tr id="user-`), "one page of users")
		assert.Contains(t, p.body, "Page 1 of 101")
		assert.Contains(t, p.body, `href="/admin/users?page=2" rel="next"`)
		assert.Contains(t, p.body, `id="user-crowd-1999"`, "newest first")
		p = v.get("/admin/users?q=crowd-004&page=1")
		assert.Equal(t, 10, strings.Count(p.body, `<tr id="user-`))
		assert.Contains(t, p.body, `value="crowd-004"`, "the search stays in its box")
		assert.NotContains(t, p.body, `rel="next"`)
		p = v.get("/admin/users?q=crowd-0&page=2")
		assert.Contains(t, p.body, "Page 2 of 50")
		assert.Contains(t, p.body, `href="/admin/users?page=1&amp;q=crowd-0" rel="prev"`)
		assert.Contains(t, p.body, `href="/admin/users?page=3&amp;q=crowd-0" rel="next"`)
		p = v.get("/admin/users?q=nobody-at-all")
		assert.Contains(t, p.body, "No user matches.")
		// A change comes back to the page it was made on.
		p = v.get("/admin/users?q=crowd-0&page=2")
		id := regexp.MustCompile(`/admin/users/([0-9a-f]{24})/disable\?page=2&(?:amp;)?q=crowd-0`).FindStringSubmatch(p.body)
		require.Len(t, id, 2, "the disable form carries the page and the search")
		p = v.post("/admin/users/"+id[1]+"/disable?page=2&q=crowd-0", url.Values{})
		assert.Equal(t, "/admin/users", p.url.Path)
		assert.Equal(t, "2", p.url.Query().Get("page"))
		assert.Equal(t, "crowd-0", p.url.Query().Get("q"))

		shopper := newVisitor(t, f.urls["web"])
		shopper.get("/")
		p = shopper.post("/signin", url.Values{"login": {malloryLogin}, "password": {"mallory password"}})
		require.Equal(t, http.StatusOK, p.status, p.body)
		p = shopper.get("/orders")
		assert.Equal(t, 20, len(orderLink.FindAllString(p.body, -1)), "one page of orders")
		assert.Contains(t, p.body, "Page 1 of 3")
		assert.Contains(t, p.body, `href="/orders?page=2" rel="next"`)
		p = shopper.get("/orders?page=3")
		assert.Equal(t, 20, len(orderLink.FindAllString(p.body, -1)))
		assert.Contains(t, p.body, `rel="prev"`)
		assert.NotContains(t, p.body, `rel="next"`)
		p = shopper.get("/lang/es?next=%2Forders%3Fpage%3D2")
		assert.Contains(t, p.body, "Página 2 de 3", "in Spanish too")
		assert.Equal(t, "2", p.url.Query().Get("page"))
	})

	t.Run("return addresses stay on the site", func(t *testing.T) {
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		browser := &http.Client{Jar: jar, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		base := f.urls["web"]
		location := func(resp *http.Response, err error) string {
			t.Helper()
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			return resp.Header.Get("Location")
		}
		hostile := []string{"/\t/evil.example", "/\n/evil.example", "\t//evil.example", "//evil.example",
			"/\\evil.example", "\\\\evil.example", "https://evil.example/", "/ /evil.example", "/\u3000/evil.example",
			"javascript:alert(1)", "java\tscript:alert(1)"}
		for _, next := range hostile {
			got := location(browser.Get(base + "/lang/en?next=" + url.QueryEscape(next)))
			assert.Equal(t, "/", got, "language switch, next=%q", next)
		}
		assert.Equal(t, "/cart", location(browser.Get(base+"/lang/es?next=%2Fcart")), "a path of the site is kept")
		t.Logf("%d hostile next addresses sent to the language switch: every one answered Location: /", len(hostile))

		csrf := func() string {
			u, _ := url.Parse(base)
			for _, c := range jar.Cookies(u) {
				if c.Name == "csrf" {
					return c.Value
				}
			}
			return ""
		}
		for _, next := range hostile[:4] {
			form := url.Values{"csrf": {csrf()}, "login": {adminLogin}, "password": {adminPassword}, "next": {next}}
			got := location(browser.PostForm(base+"/signin", form))
			assert.True(t, strings.HasPrefix(got, "/?"), "sign-in, next=%q: %s", next, got)
		}
	})

	t.Run("names refuse bidirectional controls", func(t *testing.T) {
		before := admin.countUsers()
		for _, r := range []rune{'\u202E', '\u2066', '\u200F', '\u061C'} {
			status, raw := api.raw(http.MethodPost, "auth", "/users/signup", map[string]string{
				"name": "Invoice" + string(r) + "fdp.exe", "login": "bidi-" + testkit.Name("b"), "password": "bidi password 1"})
			require.Equal(t, http.StatusBadRequest, status, string(raw))
			assert.Contains(t, string(raw), `"path":"name"`)
			status, raw = api.raw(http.MethodPost, "auth", "/users/signup", map[string]string{
				"name": "Eve", "login": "admin" + string(r) + "-" + testkit.Name("b"), "password": "bidi password 1"})
			require.Equal(t, http.StatusBadRequest, status, string(raw))
			assert.Contains(t, string(raw), `"path":"login"`)
			status, raw = admin.raw(http.MethodPost, "catalog", "/articles", map[string]any{
				"name": "Mug" + string(r), "description": "Free" + string(r) + " gift", "price": 1})
			require.Equal(t, http.StatusBadRequest, status, string(raw))
			assert.Contains(t, string(raw), `"path":"name"`)
			assert.Contains(t, string(raw), `"path":"description"`)
		}
		assert.Equal(t, before, admin.countUsers(), "no user stored")
		status, raw := api.raw(http.MethodGet, "catalog", "/articles", nil)
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, string(raw), `"total":0`, "no article stored")
		t.Logf("bidi controls in sign-up names, logins and article texts: every one refused with 400 naming the field")
	})
}

// countUsers returns auth's X-Total-Count of every user.
func (c *client) countUsers() string {
	c.t.Helper()
	rec := testkit.Serve(c.t, c.urls["auth"], testkit.Request{Method: http.MethodGet, Path: "/users/all?size=1", Token: c.token})
	require.Equal(c.t, http.StatusOK, rec.Code)
	return rec.Header().Get("X-Total-Count")
}

// pagesFleet is the six services in this process on real servers, with the quotas that would
// stop a test from acting as many shoppers turned off.
type pagesFleet struct {
	urls     map[string]string
	bus      bus.Bus
	mongoURL string
	dbSuffix string
}

// startPagesFleet starts the fleet after seedAuth has written to auth's database.
func startPagesFleet(t *testing.T, seedAuth func(ctx context.Context, db *mongo.Database)) *pagesFleet {
	defer fleetTurn()()
	f := &pagesFleet{urls: map[string]string{}, bus: testkit.Rabbit(t), mongoURL: testkit.MongoURL(t), dbSuffix: testkit.Name("pages")}
	_, redisPrefix := testkit.Redis(t)
	t.Cleanup(func() { dropDatabases(t, f.mongoURL, f.dbSuffix) }) // runs after the services stopped
	ctx := context.Background()
	client, err := mongox.Connect(ctx, f.mongoURL)
	require.NoError(t, err)
	seedAuth(ctx, client.Database("auth_"+f.dbSuffix))
	require.NoError(t, client.Disconnect(ctx))
	env := map[string]string{
		"MONGO_URL": f.mongoURL, "REDIS_URL": envOr("REDIS_URL", testkit.DefaultRedisURL),
		"IMAGE_REDIS_PREFIX": redisPrefix, "LOG_LEVEL": "warn",
		"JWT_SECRET":            "pages-e2e-secret-0123456789abcdef0123456789abcdef",
		"AUTH_BOOTSTRAP_ADMIN":  adminLogin + ":" + adminPassword,
		"AUTH_SIGNUPS_PER_HOUR": "0", "CART_CHECKOUTS_PER_MINUTE": "0", "ORDERS_MAX_UNPAID": "0",
		// The services run in the test binary, under the race detector, where a bcrypt at cost
		// 10 takes about a second of CPU; next to the other tests, sign-ins outlasted the
		// storefront's 10 s wait for auth.
		"APP_ENV": "development", "AUTH_PASSWORD_COST": "4",
	}
	for _, s := range []struct {
		name string
		run  app.RunFunc
	}{{"auth", auth.Run}, {"image", imagesvc.Run}, {"catalog", catalog.Run}, {"cart", cartsvc.Run}, {"orders", orderssvc.Run}, {"web", web.Run}} {
		own := map[string]string{"MONGO_DB": s.name + "_" + f.dbSuffix}
		for k, v := range env {
			own[k] = v
		}
		if s.name == "cart" {
			own["LOG_LEVEL"] = "error" // a warning per order placed without a cart (the orders subtest)
		}
		f.urls[s.name] = testkit.RunService(t, s.run, own, f.bus)
		env[strings.ToUpper(s.name)+"_SERVICE_URL"] = f.urls[s.name]
	}
	return f
}
