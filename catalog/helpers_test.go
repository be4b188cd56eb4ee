package catalog

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Tokens the test auth service knows.
const (
	adminToken = "admin-token"
	userToken  = "user-token"
)

// testDeps is what the tests' stores run with: a fixed clock (no decision of the store reads
// the time) and observe, which may be nil.
func testDeps(observe func(change)) StoreDeps {
	return StoreDeps{Now: testkit.NewClock(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)).Now, Observe: observe}
}

// newTestStore returns a Store on a fresh database of the MongoDB-wire server.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	return newObservedStore(t, nil)
}

// newObservedStore returns a Store on a fresh database that tells observe of its changes.
func newObservedStore(t testing.TB, observe func(change)) *Store {
	t.Helper()
	store, err := NewStore(context.Background(), testkit.Mongo(t), testDeps(observe))
	require.NoError(t, err)
	return store
}

// testAPI is the catalog's HTTP handler on a fresh store, with an admin and a user token.
type testAPI struct {
	t       testing.TB
	store   *Store
	view    *articleView
	handler http.Handler
}

func newTestAPI(t testing.TB) *testAPI {
	t.Helper()
	auth := testkit.NewAuth(t)
	auth.Add(adminToken, "admin1", "user", "admin")
	auth.Add(userToken, "user1")
	view := newArticleView()
	store := newObservedStore(t, view.apply)
	checker := tokens.NewChecker(auth.URL, time.Minute)
	log := testkit.Logger(t)
	if _, isBenchmark := t.(*testing.B); isBenchmark {
		log = slog.New(slog.DiscardHandler) // a log line per request would be measured too
	}
	h := NewServer(Deps{Basics: web.Basics{Log: log, Metrics: metrics.New("catalog")}, Tokens: checker, Store: store, View: view})
	return &testAPI{t: t, store: store, view: view, handler: h}
}

// do sends a request (body as raw JSON text, token may be empty) and returns status and body.
func (a *testAPI) do(method, path, token, body string) (int, string) {
	a.t.Helper()
	r := testkit.Request{Method: method, Path: path, Token: token}
	if body != "" {
		r.Body = body
	}
	rec := testkit.Serve(a.t, a.handler, r)
	return rec.Code, rec.Body.String()
}

// create makes an article through the API and returns it.
func (a *testAPI) create(name, description string, price string, stock int) Article {
	a.t.Helper()
	body, err := json.Marshal(map[string]any{"name": name, "description": description,
		"price": json.Number(price), "stock": stock})
	require.NoError(a.t, err)
	status, out := a.do("POST", "/articles", adminToken, string(body))
	require.Equal(a.t, http.StatusOK, status, out)
	var art Article
	require.NoError(a.t, json.Unmarshal([]byte(out), &art))
	return art
}

// decode unmarshals a response body.
func decode[T any](t testing.TB, body string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	return v
}
