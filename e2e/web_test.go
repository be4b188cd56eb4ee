package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/auth"
	cartsvc "github.com/ecommerce-go/ecommerce/cart"
	"github.com/ecommerce-go/ecommerce/catalog"
	imagesvc "github.com/ecommerce-go/ecommerce/image"
	orderssvc "github.com/ecommerce-go/ecommerce/orders"
	"github.com/ecommerce-go/ecommerce/internal/benchkit"
	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/web"
)

// webShop is the fleet the storefront's tests use: every service started with testkit on the
// machine's RabbitMQ (its own vhost), Redis (own prefix) and MongoDB-wire server (own databases).
// catalog's order_placed consumer goes through a gate, so a test can hold an order in `placed`
// and watch the order page change by itself when it is let through.
type webShop struct {
	urls       map[string]string
	gate       *gate
	adminToken string
	articles   []article // enabled, with pictures; the first three have 50 in stock
}

func startWebShop(t testing.TB) *webShop {
	defer fleetTurn()()
	rabbit := testkit.Rabbit(t)
	g := &gate{}
	b := gatedBus{Bus: rabbit, queue: "catalog_order_placed", gate: g}
	mongoURL := testkit.MongoURL(t)
	_, redisPrefix := testkit.Redis(t)
	dbSuffix := testkit.Name("web")
	t.Cleanup(func() { dropDatabases(t, mongoURL, dbSuffix) }) // runs after the services stopped

	env := map[string]string{
		"MONGO_URL": mongoURL, "REDIS_URL": envOr("REDIS_URL", testkit.DefaultRedisURL),
		"IMAGE_REDIS_PREFIX": redisPrefix, "LOG_LEVEL": "warn",
		"JWT_SECRET":            "web-e2e-secret-0123456789abcdef0123456789abcdef",
		"AUTH_BOOTSTRAP_ADMIN":  adminLogin + ":" + adminPassword,
		"AUTH_SIGNUPS_PER_HOUR": "0", // every shopper signs up from 127.0.0.1
		// The services run in the test binary, under the race detector, where a bcrypt at cost
		// 10 takes about a second of CPU; next to the other tests, sign-ins outlasted the
		// storefront's 10 s wait for auth.
		"APP_ENV": "development", "AUTH_PASSWORD_COST": "4",
	}
	for k, v := range fastTimers {
		env[k] = v
	}
	for k, v := range unpaidLimitOff {
		env[k] = v
	}
	urls := map[string]string{}
	start := func(name string, run app.RunFunc) {
		own := map[string]string{"MONGO_DB": name + "_" + dbSuffix}
		for k, v := range env {
			own[k] = v
		}
		urls[name] = testkit.RunService(t, run, own, b)
		env[strings.ToUpper(name)+"_SERVICE_URL"] = urls[name]
	}
	start("auth", auth.Run)
	start("image", imagesvc.Run)
	start("catalog", catalog.Run)
	start("cart", cartsvc.Run)
	start("orders", orderssvc.Run)
	start("web", web.Run)

	s := &webShop{urls: urls, gate: g}
	api := newClient(t, urls)
	s.adminToken = api.signIn(adminLogin, adminPassword)
	admin := api.as(s.adminToken)
	stock := []int{50, 50, 50, 3, 0, 12, 8, 20}
	for i, name := range []string{"Reading lamp", "Ceramic mug", "Linen towel", "Wool scarf", "Tea sampler",
		"Bike light", "Water bottle", "Desk plant"} {
		var img struct{ ID string }
		admin.must(http.MethodPost, "image", "/images/create", map[string]string{"image": benchkit.Picture(i, 400, 300)}, &img)
		var a article
		admin.must(http.MethodPost, "catalog", "/articles", map[string]any{
			"name": name, "description": "A good " + strings.ToLower(name) + ".", "image": img.ID,
			"price": 12.5 + float64(i), "stock": stock[i],
		}, &a)
		s.articles = append(s.articles, a)
	}
	return s
}

// gate holds deliveries while closed.
type gate struct {
	mu     sync.Mutex
	closed chan struct{} // nil when open
}

// hold makes the gated consumer wait from now on.
func (g *gate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed == nil {
		g.closed = make(chan struct{})
	}
}

// release lets waiting and later deliveries through.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed != nil {
		close(g.closed)
		g.closed = nil
	}
}

func (g *gate) wait(ctx context.Context) error {
	g.mu.Lock()
	c := g.closed
	g.mu.Unlock()
	if c == nil {
		return nil
	}
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gatedBus is a bus whose consumer of one queue passes its deliveries through a gate.
type gatedBus struct {
	bus.Bus
	queue string
	gate  *gate
}

func (b gatedBus) Consume(ctx context.Context, s bus.Subscription, h bus.Handler) error {
	if s.Queue == b.queue {
		inner := h
		h = func(ctx context.Context, d bus.Delivery) error {
			if err := b.gate.wait(ctx); err != nil {
				return err
			}
			return inner(ctx, d)
		}
	}
	return b.Bus.Consume(ctx, s, h)
}

// visitor is a browser without JavaScript: it keeps cookies, follows redirects, and sends
// forms with the page's CSRF token (read from its cookie, as the page's hidden field holds).
type visitor struct {
	t    testing.TB
	base string
	http *http.Client
}

func newVisitor(t testing.TB, base string) *visitor {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &visitor{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// page is an answer: status, final URL and method after redirects, body.
type page struct {
	status int
	url    *url.URL
	method string
	body   string
}

func (v *visitor) do(req *http.Request) page {
	v.t.Helper()
	resp, err := v.http.Do(req)
	require.NoError(v.t, err, "%s %s", req.Method, req.URL)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(v.t, err)
	return page{status: resp.StatusCode, url: resp.Request.URL, method: resp.Request.Method, body: string(raw)}
}

func (v *visitor) get(path string) page {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodGet, v.base+path, nil)
	require.NoError(v.t, err)
	return v.do(req)
}

// post sends form to path with the CSRF token added, unless form already has a "csrf" entry.
func (v *visitor) post(path string, form url.Values) page {
	v.t.Helper()
	if _, set := form["csrf"]; !set {
		form.Set("csrf", v.cookie("csrf"))
	}
	req, err := http.NewRequest(http.MethodPost, v.base+path, strings.NewReader(form.Encode()))
	require.NoError(v.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return v.do(req)
}

func (v *visitor) cookie(name string) string {
	u, _ := url.Parse(v.base)
	for _, c := range v.http.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signUp makes a new shopper through the sign-up form and returns the login.
func (v *visitor) signUp(name string) string {
	v.t.Helper()
	v.get("/") // the first visit sets the CSRF cookie
	login := strings.ToLower(name) + "-" + testkit.Name("u")
	p := v.post("/signup", url.Values{"name": {name}, "login": {login}, "password": {"correct horse battery"}})
	require.Equal(v.t, http.StatusOK, p.status, p.body)
	require.Contains(v.t, p.body, "Welcome!")
	return login
}

var orderLink = regexp.MustCompile(`/orders/([0-9a-f]{24})`)

func TestWeb(t *testing.T) {
	parallel(t)
	s := startWebShop(t)
	base := s.urls["web"]

	t.Run("catalog, search and article page without JavaScript", func(t *testing.T) {
		v := newVisitor(t, base)
		p := v.get("/")
		require.Equal(t, http.StatusOK, p.status)
		for _, a := range s.articles {
			assert.Contains(t, p.body, `href="/articles/`+a.ID+`"`)
			assert.Contains(t, p.body, `src="/img/`+a.Image+`?size=320" alt=""`, "the name is in the card's link, beside")
		}
		p = v.get("/?q=lamp")
		assert.Contains(t, p.body, s.articles[0].Name)
		assert.NotContains(t, p.body, s.articles[1].Name)
		p = v.get("/articles/" + s.articles[1].ID)
		assert.Contains(t, p.body, "<h1>Ceramic mug</h1>")
		assert.Contains(t, p.body, "€13.50")
		assert.Contains(t, p.body, "Sign in to buy")

		img, err := http.Get(base + "/img/" + s.articles[0].Image + "?size=320")
		require.NoError(t, err)
		img.Body.Close()
		assert.Equal(t, http.StatusOK, img.StatusCode)
		assert.Equal(t, "image/jpeg", img.Header.Get("Content-Type"))

		assert.Equal(t, http.StatusNotFound, v.get("/articles/000000000000000000000000").status)
		assert.Equal(t, http.StatusNotFound, v.get("/no/such/page").status)
	})

	t.Run("a form posted without its CSRF token is refused", func(t *testing.T) {
		v := newVisitor(t, base)
		v.get("/")
		for _, token := range []string{"", "forged-token-forged-token-forged-token"} {
			p := v.post("/signin", url.Values{"csrf": {token}, "login": {adminLogin}, "password": {adminPassword}})
			assert.Equal(t, http.StatusForbidden, p.status)
			assert.Contains(t, p.body, "Form expired")
			assert.Empty(t, v.cookie("session"), "no session from a refused form")
		}
		// A browser that never got the cookie (a cross-site form) is refused too.
		fresh := newVisitor(t, base)
		assert.Equal(t, http.StatusForbidden, fresh.post("/signin", url.Values{"csrf": {"x"}}).status)
	})

	t.Run("an API field error is shown next to its field, typed values kept", func(t *testing.T) {
		v := newVisitor(t, base)
		v.get("/")
		p := v.post("/signup", url.Values{"name": {"Ana Typed"}, "login": {"ab"}, "password": {"correct horse battery"}})
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Regexp(t, `class="error-summary" role="alert"><p>[^<]+</p>`, p.body, "summary above the form")
		assert.Regexp(t, `id="f-login" name="login" type="text" value="ab" aria-invalid="true" aria-describedby="e-login"`, p.body)
		assert.Regexp(t, `<p class="field-error" id="e-login">[^<]*4[^<]*</p>`, p.body, "auth's message for login, next to it")
		assert.Contains(t, p.body, `value="Ana Typed"`, "the name typed is kept")
		assert.NotContains(t, p.body, "correct horse battery", "a password is never typed back")
		assert.NotContains(t, p.body, `id="e-name"`)

		p = v.post("/signup", url.Values{"name": {"Ana Again"}, "login": {adminLogin}, "password": {"correct horse battery"}})
		require.Equal(t, http.StatusBadRequest, p.status)
		assert.Regexp(t, `<p class="field-error" id="e-login">[^<]*already taken[^<]*</p>`, p.body, "a taken login, at the Login field")
	})

	t.Run("a search too long for the catalog is marked at the search field", func(t *testing.T) {
		p := newVisitor(t, base).get("/?q=" + strings.Repeat("x", 201))
		assert.Regexp(t, `id="q" name="q" type="search" value="x+"[^>]* aria-invalid="true" aria-describedby="e-q"`, p.body)
		assert.Regexp(t, `<p class="field-error" id="e-q">[^<]+</p>`, p.body)
		assert.Contains(t, p.body, "<title>Results for “xxx", "the search page is titled by its search")
	})

	t.Run("a shopper cannot open the admin pages, nor see their links", func(t *testing.T) {
		v := newVisitor(t, base)
		v.signUp("Bob")
		for _, path := range []string{"/admin/articles", "/admin/users", "/admin/orders", "/admin/articles/new"} {
			p := v.get(path)
			assert.Equal(t, http.StatusForbidden, p.status, path)
			assert.Contains(t, p.body, "Not allowed")
		}
		assert.Equal(t, http.StatusForbidden, v.post("/admin/articles/"+s.articles[0].ID+"/disable", url.Values{}).status)
		assert.NotContains(t, v.get("/").body, `href="/admin/`)
		// Signed out, the admin pages send to sign-in.
		anon := newVisitor(t, base)
		p := anon.get("/admin/users")
		assert.Equal(t, "/signin", p.url.Path)
	})

	t.Run("shopping with JavaScript off: cart, check, checkout, pay", func(t *testing.T) {
		v := newVisitor(t, base)
		v.signUp("Carla")
		lamp, mug := s.articles[0], s.articles[1]
		p := v.post("/cart/add", url.Values{"articleId": {lamp.ID}, "quantity": {"2"}})
		require.Equal(t, "/cart", p.url.Path, p.body)
		assert.Contains(t, p.body, "Added to your cart.")
		v.post("/cart/add", url.Values{"articleId": {mug.ID}, "quantity": {"1"}})
		p = v.post("/cart/lines/"+lamp.ID, url.Values{"action": {"set"}, "quantity": {"3"}})
		assert.Contains(t, p.body, `id="qty-`+lamp.ID+`" name="quantity" type="number" min="0" max="999" value="3"`)
		p = v.post("/cart/lines/"+mug.ID, url.Values{"action": {"remove"}})
		assert.NotContains(t, p.body, `id="line-`+mug.ID+`"`)
		p = v.post("/cart/lines/"+lamp.ID, url.Values{"action": {"set"}, "quantity": {"lots"}})
		assert.Equal(t, "/cart", p.url.Path, "not left on the POST target")
		assert.Contains(t, p.body, `value="lots" inputmode="numeric" aria-invalid="true" aria-describedby="e-qty-`+lamp.ID+`"`, "the typed value kept")
		assert.Contains(t, p.body, `<p class="field-error" id="e-qty-`+lamp.ID+`">Type a quantity from 0 to 999`, "an error next to the quantity")
		assert.NotContains(t, p.body, `class="notice"`, "not a success notice")
		p = v.post("/cart/add", url.Values{"articleId": {lamp.ID}, "quantity": {"1000"}})
		assert.Equal(t, "/articles/"+lamp.ID, p.url.Path)
		assert.Contains(t, p.body, `value="1000" inputmode="numeric" aria-invalid="true" aria-describedby="e-quantity"`)
		assert.Contains(t, p.body, `<p class="field-error" id="e-quantity">Type a quantity from 1 to 999.</p>`)
		p = v.get("/cart?check=1")
		assert.Contains(t, p.body, "Everything in your cart is available.")
		assert.Contains(t, p.body, "€37.50") // 3 × 12.50

		p = v.post("/cart/checkout", url.Values{})
		m := orderLink.FindStringSubmatch(p.url.Path)
		require.NotNil(t, m, "checkout lands on the order: %s", p.url)
		id := m[1]
		eventually(t, 20*time.Second, "order validated", func() bool {
			return strings.Contains(v.get("/orders/"+id).body, `class="status s-validated"`)
		})
		p = v.get("/orders/" + id)
		assert.Contains(t, p.body, `name="amount" type="text" inputmode="decimal" value="37.50"`)
		assert.Contains(t, p.body, "<h1>Order "+strings.ToUpper(id[:5])+"-"+strings.ToUpper(id[5:10])+"</h1>", "the order's number")
		p = v.post("/orders/"+id+"/payment", url.Values{"method": {"CASH"}, "amount": {"nonsense"}})
		assert.Equal(t, "/orders/"+id, p.url.Path, "a reload does not post again")
		assert.Regexp(t, `id="e-amount">Type an amount`, p.body)
		assert.Contains(t, p.body, `value="nonsense"`, "the typed value kept")
		p = v.post("/orders/"+id+"/payment", url.Values{"method": {"CASH"}, "amount": {"37.505"}})
		assert.Regexp(t, `id="e-amount">Use at most two decimals`, p.body, "never rounded")
		p = v.post("/orders/"+id+"/payment", url.Values{"method": {"GOLD"}, "amount": {"37.50"}})
		assert.Regexp(t, `<fieldset class="invalid" aria-describedby="e-method">`, p.body, "the method's error tied to its fieldset")
		assert.Regexp(t, `<p class="field-error" id="e-method">[^<]+</p>`, p.body)
		req, _ := http.NewRequest(http.MethodGet, base+"/orders/"+id, nil)
		req.Header.Set("Accept-Language", "es")
		assert.Contains(t, v.do(req).body, `value="37,50"`, "the amount in the page's language")
		p = v.post("/orders/"+id+"/payment", url.Values{"method": {"CASH"}, "amount": {"37,50"}})
		assert.Regexp(t, `id="e-amount">Type an amount`, p.body, "a decimal comma on an English page could be a misplaced thousands separator")
		p = v.post("/orders/"+id+"/payment", url.Values{"method": {"CASH"}, "amount": {"37.50"}})
		assert.Contains(t, p.body, "Payment received.")
		assert.Contains(t, p.body, `class="status s-payment_defined"`)
		p = v.get("/orders")
		assert.Contains(t, p.body, "/orders/"+id)
		assert.Contains(t, p.body, `<td class="num" data-label="Units">3</td>`, "units, not lines")
		assert.Contains(t, v.get("/cart").body, "Your cart is empty.")
	})

	t.Run("an order's life with JavaScript off: amount due, overpaying, cancel with confirmation, ship and deliver", func(t *testing.T) {
		v := newVisitor(t, base)
		v.signUp("Dora")
		lamp := s.articles[0]
		checkout := func() string {
			t.Helper()
			v.post("/cart/add", url.Values{"articleId": {lamp.ID}, "quantity": {"1"}})
			p := v.post("/cart/checkout", url.Values{})
			m := orderLink.FindStringSubmatch(p.url.Path)
			require.NotNil(t, m, "checkout lands on the order: %s", p.url)
			eventually(t, 20*time.Second, "order validated", func() bool {
				return strings.Contains(v.get("/orders/"+m[1]).body, `class="status s-validated"`)
			})
			return m[1]
		}
		id := checkout()
		p := v.get("/orders/" + id)
		assert.Contains(t, p.body, "Amount due: €12.50")
		p = v.post("/orders/"+id+"/payment", url.Values{"method": {"CASH"}, "amount": {"99"}})
		assert.Equal(t, "/orders/"+id, p.url.Path)
		assert.Contains(t, p.body, `id="e-amount"`, "the refusal next to the amount")
		v.post("/orders/"+id+"/payment", url.Values{"method": {"CASH"}, "amount": {"2.50"}})
		p = v.get("/orders/" + id + "/cancel")
		assert.Contains(t, p.body, "Cancel this order?")
		assert.Contains(t, p.body, "€2.50 you paid will be refunded.")
		p = v.post("/orders/"+id+"/cancel", url.Values{"reason": {"changed my mind"}})
		assert.Contains(t, p.body, "The order is cancelled.")
		assert.Contains(t, p.body, `class="status s-cancelled"`)
		assert.Contains(t, p.body, "€2.50 to be refunded")
		assert.NotContains(t, p.body, `href="/orders/`+id+`/cancel"`, "no Cancel on a cancelled order")

		paid := checkout()
		v.post("/orders/"+paid+"/payment", url.Values{"method": {"CASH"}, "amount": {"12.50"}})
		admin := newVisitor(t, base)
		admin.get("/")
		admin.post("/signin", url.Values{"login": {adminLogin}, "password": {adminPassword}})
		p = admin.post("/admin/orders/"+paid+"/ship", url.Values{"carrier": {""}, "trackingCode": {"PK1"}})
		assert.Equal(t, "/orders/"+paid, p.url.Path, "a carrier is required")
		assert.Contains(t, p.body, `id="e-carrier"`)
		assert.Contains(t, p.body, `value="PK1"`)
		p = admin.post("/admin/orders/"+paid+"/ship", url.Values{"carrier": {"Correos"}, "trackingCode": {"PK1"}})
		assert.Contains(t, p.body, "The order is shipped.")
		p = admin.post("/admin/orders/"+paid+"/deliver", url.Values{})
		assert.Contains(t, p.body, "The order is delivered.")
		p = v.get("/orders/" + paid)
		assert.Contains(t, p.body, "Correos")
		assert.Contains(t, p.body, "PK1")
		assert.Contains(t, p.body, `class="status s-delivered"`)
		// Order_Status lags the order by one run of its status's job (docs/design.md).
		eventually(t, time.Minute, "the cancelled order in Order_Status", func() bool {
			p = admin.get("/admin/orders?status=cancelled")
			return strings.Contains(p.body, `<td data-label="User">Dora</td>`)
		})
		assert.Equal(t, http.StatusOK, p.status)
		assert.Contains(t, p.body, `<option value="cancelled" selected>`)
		assert.Contains(t, p.body, `<td data-label="User">Dora</td>`, "the user by name")
		assert.Equal(t, http.StatusBadRequest, admin.get("/admin/orders?page=0").status, "a page out of range is refused, not clamped")
	})

	t.Run("a refused checkout shows the reason next to the line", func(t *testing.T) {
		v := newVisitor(t, base)
		v.signUp("Dora")
		api := newClient(t, s.urls).as(s.adminToken)
		var gone article
		api.must(http.MethodPost, "catalog", "/articles", map[string]any{"name": "Soon gone", "price": 1, "stock": 3}, &gone)
		v.post("/cart/add", url.Values{"articleId": {gone.ID}, "quantity": {"1"}})
		api.must(http.MethodDelete, "catalog", "/articles/"+gone.ID, nil, nil)
		p := v.post("/cart/checkout", url.Values{})
		assert.Equal(t, "/cart", p.url.Path, "back on the cart, not on the POST target")
		assert.Contains(t, p.body, "Nothing was ordered")
		assert.Regexp(t, `(?s)id="line-`+gone.ID+`".*class="field-error" role="alert">[^<]+</p>`, p.body)

		// Adding it again from a stale page says it is not sold; an unknown article says so too.
		p = v.post("/cart/add", url.Values{"articleId": {gone.ID}, "quantity": {"1"}})
		assert.Equal(t, "/articles/"+gone.ID, p.url.Path)
		assert.Contains(t, p.body, "no longer sold, so it was not added")
		assert.NotContains(t, p.body, "Added to your cart")
		p = v.post("/cart/add", url.Values{"articleId": {"0123456789abcdef01234567"}, "quantity": {"1"}})
		assert.Equal(t, http.StatusNotFound, p.status)
		assert.Contains(t, p.body, "Unknown article")
	})

	t.Run("the cart check's warnings and errors are shown next to their lines", func(t *testing.T) {
		v := newVisitor(t, base)
		v.signUp("Gala")
		scarf := s.articles[3] // 3 in stock
		v.post("/cart/add", url.Values{"articleId": {scarf.ID}, "quantity": {"5"}})
		p := v.get("/cart?check=1")
		assert.Regexp(t, `(?s)<li class="line warn" id="line-`+scarf.ID+`">.*?<p class="field-warning" role="status">[^<]+</p>`, p.body)
		assert.NotContains(t, p.body, "Everything in your cart is available.")
		assert.Contains(t, p.body, "Some articles have less stock than you ask for")

		// Checking out runs the same check first: a warning keeps the cart, nothing is ordered.
		p = v.post("/cart/checkout", url.Values{})
		assert.Equal(t, "/cart", p.url.Path)
		assert.Contains(t, p.body, "Nothing was ordered")
		assert.Regexp(t, `(?s)<li class="line warn" id="line-`+scarf.ID+`">.*?<p class="field-warning" role="status">[^<]+</p>`, p.body)
		assert.Contains(t, v.get("/cart").body, `id="line-`+scarf.ID+`"`, "the cart is still open")
		assert.NotContains(t, v.get("/orders").body, `href="/orders/`, "no order")
	})

	t.Run("changing the password", func(t *testing.T) {
		v := newVisitor(t, base)
		login := v.signUp("Hugo")
		p := v.post("/account/password", url.Values{"currentPassword": {"not my password"}, "newPassword": {"a new long password"}})
		assert.Equal(t, http.StatusBadRequest, p.status)
		assert.Regexp(t, `<p class="field-error" id="e-currentPassword">[^<]+</p>`, p.body, "auth's message next to the current password")
		p = v.post("/account/password", url.Values{"currentPassword": {"correct horse battery"}, "newPassword": {"a new long password"}})
		assert.Contains(t, p.body, "Your password is changed.")
		other := newVisitor(t, base)
		other.get("/")
		p = other.post("/signin", url.Values{"login": {login}, "password": {"correct horse battery"}})
		assert.Contains(t, p.body, "Wrong login or password.")
		p = other.post("/signin", url.Values{"login": {login}, "password": {"a new long password"}})
		assert.Contains(t, p.body, "You are signed in.")
	})

	t.Run("a session auth no longer accepts sends to sign-in with a message", func(t *testing.T) {
		v := newVisitor(t, base)
		v.signUp("Eva")
		require.Equal(t, http.StatusOK, v.get("/cart").status)
		// Signed out elsewhere (another tab, or the API): auth broadcasts the logout.
		newClient(t, s.urls).as(v.cookie("session")).must(http.MethodGet, "auth", "/users/signout", nil, nil)
		var p page
		eventually(t, 10*time.Second, "the web drops the revoked token", func() bool {
			p = v.get("/cart")
			return p.url.Path == "/signin"
		})
		assert.Contains(t, p.body, "Your session has ended. Please sign in again.")
		assert.Empty(t, v.cookie("session"))
	})

	t.Run("language from Accept-Language, switchable, remembered", func(t *testing.T) {
		v := newVisitor(t, base)
		req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
		req.Header.Set("Accept-Language", "es-ES,es;q=0.9,en;q=0.5")
		p := v.do(req)
		assert.Contains(t, p.body, `<html lang="es">`)
		assert.Contains(t, p.body, "Catálogo")
		p = v.get("/lang/en?next=" + url.QueryEscape("/articles/"+s.articles[0].ID))
		assert.Equal(t, "/articles/"+s.articles[0].ID, p.url.Path, "back on the page")
		assert.Contains(t, p.body, `<html lang="en">`)
		p = v.do(req) // the cookie wins over the header
		assert.Contains(t, p.body, `<html lang="en">`)
		assert.Equal(t, "/", v.get("/lang/es?next="+url.QueryEscape("//evil.example/")).url.Path, "never leaves the shop")
	})

	t.Run("a service that is down gives a 503 page for its part only", func(t *testing.T) {
		env := map[string]string{
			"AUTH_SERVICE_URL": s.urls["auth"], "IMAGE_SERVICE_URL": s.urls["image"],
			"CATALOG_SERVICE_URL": "http://127.0.0.1:1", // nothing listens there
			"CART_SERVICE_URL":    s.urls["cart"], "ORDERS_SERVICE_URL": s.urls["orders"],
		}
		down := testkit.RunService(t, web.Run, env, bus.NewMemory(contract.Topology))
		v := newVisitor(t, down)
		p := v.get("/")
		assert.Equal(t, http.StatusServiceUnavailable, p.status)
		assert.Contains(t, p.body, "Catalog unavailable")
		assert.Contains(t, p.body, `href="/signin"`, "the page keeps the shop's header")
		// auth is up: signing up works, and lands on the catalog, which is still down.
		p = v.post("/signup", url.Values{"name": {"Fede"}, "login": {testkit.Name("fede")}, "password": {"correct horse battery"}})
		assert.Equal(t, http.StatusServiceUnavailable, p.status)
		assert.NotEmpty(t, v.cookie("session"))
		p = v.get("/cart")
		assert.Equal(t, http.StatusOK, p.status)
		assert.Contains(t, p.body, "Your cart is empty.")
		assert.Equal(t, http.StatusOK, v.get("/orders").status)
	})

	t.Run("admin console without JavaScript", func(t *testing.T) {
		v := newVisitor(t, base)
		v.get("/")
		p := v.post("/signin", url.Values{"login": {adminLogin}, "password": {adminPassword}})
		assert.Contains(t, p.body, `href="/admin/articles"`)
		p = v.post("/admin/articles/new", url.Values{"name": {"Bad price"}, "description": {""}, "price": {"-3"}, "stock": {"1"}})
		assert.Equal(t, "/admin/articles/new", p.url.Path)
		assert.Equal(t, http.MethodGet, p.method, "a reload does not post again")
		assert.Regexp(t, `<p class="field-error" id="e-price">must be at least 0</p>`, p.body, "catalog's message next to price")
		assert.Contains(t, p.body, `value="Bad price"`)
		for typed, problem := range map[string]string{"12.345": "Use at most two decimals", "1.234,50": "Type an amount"} {
			p = v.post("/admin/articles/new", url.Values{"name": {"Priced"}, "price": {typed}, "stock": {"1"}})
			assert.Regexp(t, `<p class="field-error" id="e-price">`+problem, p.body, typed)
			assert.Contains(t, p.body, `value="`+typed+`"`, typed)
		}
		p = v.post("/admin/articles/new", url.Values{"name": {"Thousand"}, "description": {""}, "price": {"1,000"}, "stock": {"1"}})
		assert.Contains(t, p.body, "Article saved.")
		assert.Contains(t, p.body, `value="1000.00"`, "1,000 is a thousand euros")
		p = v.get("/admin/orders?status=payment_defined")
		assert.Equal(t, http.StatusOK, p.status)
		p = v.get("/admin/users")
		assert.Contains(t, p.body, adminLogin)
	})

	t.Run("your sessions: seen, one ended, all others ended", func(t *testing.T) {
		phone := newVisitor(t, base)
		login := phone.signUp("Sol")
		laptop := newVisitor(t, base)
		laptop.get("/")
		laptop.post("/signin", url.Values{"login": {login}, "password": {"correct horse battery"}})
		tablet := newVisitor(t, base)
		tablet.get("/")
		tablet.post("/signin", url.Values{"login": {login}, "password": {"correct horse battery"}})

		p := laptop.get("/account/sessions")
		require.Equal(t, http.StatusOK, p.status)
		assert.Contains(t, p.body, "This device")
		assert.Contains(t, p.body, "127.0.0.1", "the person's address, through the storefront")
		assert.Contains(t, p.body, "Go-http-client", "the person's User-Agent, through the storefront")
		ends := regexp.MustCompile(`action="/account/sessions/([0-9a-f]{24})/end"`).FindAllStringSubmatch(p.body, -1)
		require.Len(t, ends, 2, "an End button for each other session")
		// The oldest session listed last is the phone's (sign-up).
		p = laptop.post("/account/sessions/"+ends[1][1]+"/end", url.Values{})
		assert.Contains(t, p.body, "The session has ended.")
		eventually(t, 10*time.Second, "the ended session is refused", func() bool { return phone.get("/cart").url.Path == "/signin" })
		p = laptop.post("/account/sessions/others/end", url.Values{})
		assert.Contains(t, p.body, "Every other session has ended.")
		eventually(t, 10*time.Second, "every other session is refused", func() bool { return tablet.get("/cart").url.Path == "/signin" })
		assert.Equal(t, http.StatusOK, laptop.get("/cart").status, "the current one lives")

		p = laptop.post("/account/sessions/0123456789abcdef01234567/end", url.Values{})
		assert.Equal(t, http.StatusNotFound, p.status, "not a session of this user")
	})

	t.Run("admin: no lockout, confirmations, restore, grants on the next page", func(t *testing.T) {
		admin := newVisitor(t, base)
		admin.get("/")
		admin.post("/signin", url.Values{"login": {adminLogin}, "password": {adminPassword}})
		api := newClient(t, s.urls).as(admin.cookie("session"))
		var me struct{ ID string }
		api.must(http.MethodGet, "auth", "/users/current", nil, &me)

		p := admin.get("/admin/users?q=" + url.QueryEscape(adminLogin))
		assert.NotContains(t, p.body, "/admin/users/"+me.ID+"/disable", "no disabling itself")
		assert.NotRegexp(t, `/admin/users/`+me.ID+`/revoke[^>]*>[^<]*<input type="hidden" name="csrf" value="[^"]*"><input type="hidden" name="permission" value="admin"`, p.body, "no revoking its own admin")
		p = admin.post("/admin/users/"+me.ID+"/revoke", url.Values{"permission": {"admin"}})
		assert.Equal(t, "/admin/users", p.url.Path, "posted anyway: refused with auth's message")
		assert.Contains(t, p.body, "cannot take away your own admin permission", "auth's refusal, in the page's language")

		shopper := newVisitor(t, base)
		login := shopper.signUp("Promoted")
		assert.Equal(t, http.StatusForbidden, shopper.get("/admin/articles").status)
		var user []struct{ ID string }
		api.must(http.MethodGet, "auth", "/users/all?q="+url.QueryEscape(login), nil, &user)
		require.Len(t, user, 1)
		admin.post("/admin/users/"+user[0].ID+"/grant", url.Values{"permission": {"admin"}})
		eventually(t, time.Second, "the grant shows on the shopper's next page", func() bool {
			return shopper.get("/admin/articles").status == http.StatusOK
		})

		admin.post("/admin/users/"+user[0].ID+"/signout?page=1", url.Values{})
		eventually(t, 10*time.Second, "the admin's sign-out ends the shopper's session", func() bool {
			return shopper.get("/cart").url.Path == "/signin"
		})
		shopper.post("/signin", url.Values{"login": {login}, "password": {"correct horse battery"}})
		require.Equal(t, http.StatusOK, shopper.get("/cart").status, "the account itself is untouched")

		p = admin.get("/admin/users/" + user[0].ID + "/disable?page=1&login=" + url.QueryEscape(login))
		assert.Contains(t, p.body, "Are you sure?")
		assert.Contains(t, p.body, login)
		assert.Contains(t, p.body, `<form action="/admin/users/`+user[0].ID+`/disable?page=1" method="post">`)
		admin.post("/admin/users/"+user[0].ID+"/disable?page=1", url.Values{})
		eventually(t, 10*time.Second, "the disabled user's session ends", func() bool { return shopper.get("/cart").url.Path == "/signin" })

		var a struct {
			ID string `json:"_id"`
		}
		api.must(http.MethodPost, "catalog", "/articles", map[string]any{"name": "Undo me", "price": 5, "stock": 2}, &a)
		p = admin.get("/admin/articles/" + a.ID + "/disable")
		assert.Contains(t, p.body, "Undo me")
		assert.Contains(t, p.body, `<form action="/admin/articles/`+a.ID+`/disable" method="post">`)
		admin.post("/admin/articles/"+a.ID+"/disable", url.Values{})
		p = admin.get("/admin/articles?deleted=1")
		assert.Contains(t, p.body, `action="/admin/articles/`+a.ID+`/restore"`)
		p = admin.post("/admin/articles/"+a.ID+"/restore", url.Values{})
		assert.Contains(t, p.body, "Article restored.")
		var back struct{ Enabled bool }
		api.must(http.MethodGet, "catalog", "/articles/"+a.ID, nil, &back)
		assert.True(t, back.Enabled)
	})

	t.Run("browser", func(t *testing.T) { browserStories(t, s) })
}

func mustURL(t testing.TB, raw string) *url.URL {
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}
