package cart

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Article ids used by the tests.
const (
	articleA       = "aaaaaaaaaaaaaaaaaaaaaaaa"
	articleB       = "bbbbbbbbbbbbbbbbbbbbbbbb"
	articleLow     = "cccccccccccccccccccccccc" // stock 1
	articleOff     = "dddddddddddddddddddddddd" // disabled
	articleUnknown = "eeeeeeeeeeeeeeeeeeeeeeee"
)

// fakeCatalog stands in for catalog's GET /articles/{id} (SPEC §3.3) in the cart's own tests;
// the end-to-end tests use the real catalog.
type fakeCatalog struct {
	URL      string
	mu       sync.Mutex
	articles map[string]article
	down     bool
	onLookup func() // when set, runs before each answer
}

func newFakeCatalog(t testing.TB) *fakeCatalog {
	c := &fakeCatalog{articles: map[string]article{
		articleA:   {ID: articleA, Enabled: true, Stock: 100},
		articleB:   {ID: articleB, Enabled: true, Stock: 100},
		articleLow: {ID: articleLow, Enabled: true, Stock: 1},
		articleOff: {ID: articleOff, Enabled: false, Stock: 100},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		a, ok := c.articles[strings.TrimPrefix(r.URL.Path, "/articles/")]
		down, onLookup := c.down, c.onLookup
		c.mu.Unlock()
		if onLookup != nil {
			onLookup()
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case down:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":"down"}`)
		case !ok:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"article not found"}`)
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"_id": a.ID, "name": "Article", "description": "",
				"image": "", "price": 10.5, "stock": a.Stock, "enabled": a.Enabled})
		}
	}))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

func (c *fakeCatalog) set(a article) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.articles[a.ID] = a
}

func (c *fakeCatalog) get(id string) (article, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.articles[id]
	return a, ok
}

func (c *fakeCatalog) setDown(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = down
}

// fixture is a cart service over a real database and broker, behind an HTTP test server.
type fixture struct {
	t       testing.TB
	URL     string
	store   *Store
	svc     *Service
	bus     bus.Bus
	auth    *testkit.Auth
	catalog *fakeCatalog
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, testkit.Mongo(t))
}

// stamp is the time a state made by a test carries: UTC, to the millisecond, as the service's.
func stamp() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// newFixtureOn is newFixture on database db: fixtures on one database are instances of one
// service. Each of configure may change what the service is made with.
func newFixtureOn(t testing.TB, db *mongo.Database, configure ...func(*ServiceDeps)) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := NewStore(ctx, db)
	require.NoError(t, err)
	f := &fixture{t: t, store: store, bus: testkit.Rabbit(t), auth: testkit.NewAuth(t), catalog: newFakeCatalog(t)}
	log := testkit.Logger(t)
	if _, bench := t.(*testing.B); bench {
		log = slog.New(slog.DiscardHandler)
	}
	deps := ServiceDeps{Store: store, Bus: f.bus, Catalog: newCatalogClient(f.catalog.URL), Log: log, Now: time.Now}
	for _, c := range configure {
		c(&deps)
	}
	f.svc = NewService(deps)
	checker := tokens.NewChecker(f.auth.URL, time.Minute)
	srv := httptest.NewServer(NewServer(Deps{Basics: web.Basics{Log: log, Metrics: metrics.New("cart")}, Tokens: checker, Service: f.svc}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// do sends a request with token and returns the status and body.
func (f *fixture) do(method, path, token string, body any) (int, []byte) {
	f.t.Helper()
	rec := testkit.Serve(f.t, f.URL, testkit.Request{Method: method, Path: path, Token: token, Body: body})
	return rec.Code, rec.Body.Bytes()
}

// cart sends a request that must answer 200 with a cart.
func (f *fixture) cart(method, path, token string, body any) contract.Cart {
	f.t.Helper()
	status, raw := f.do(method, path, token, body)
	require.Equal(f.t, http.StatusOK, status, string(raw))
	var c contract.Cart
	require.NoError(f.t, json.Unmarshal(raw, &c), string(raw))
	return c
}

// countStates counts the stored cart states matching filter.
func (f *fixture) countStates(filter any) int {
	n, err := f.store.states.CountDocuments(context.Background(), filter)
	require.NoError(f.t, err)
	return int(n)
}

// counter counts messages consumed by type; a "sentinel" message marks that every message
// published before it has been seen.
type counter struct {
	mu     sync.Mutex
	byType map[string]int
	last   map[string]bus.Delivery
}

func newCounter() *counter {
	return &counter{byType: map[string]int{}, last: map[string]bus.Delivery{}}
}

func (c *counter) handle(_ context.Context, d bus.Delivery) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byType[d.Type]++
	c.last[d.Type] = d
	return nil
}

func (c *counter) count(msgType string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byType[msgType]
}

func (c *counter) lastOf(msgType string) bus.Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last[msgType]
}

// drain waits until every message published to queue before now has been consumed by c.
func (c *counter) drain(t testing.TB, b bus.Bus, exchange, key string) {
	t.Helper()
	before := c.count("sentinel")
	require.NoError(t, bus.Send(context.Background(), b, exchange, key, "sentinel", struct{}{}))
	testkit.Eventually(t, 10*time.Second, func() bool { return c.count("sentinel") > before }, "sentinel consumed")
}
