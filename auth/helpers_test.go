package auth_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/crypto/bcrypt"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/contract/contracttest"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// testPasswordCost is the bcrypt cost the tests hash at: they check behaviour, not hashing
// cost, and cost 10 under the race detector would take minutes. BenchmarkSignIn uses the real one.
const testPasswordCost = bcrypt.MinCost

var testSecret = []byte("test-secret-of-at-least-32-bytes-long!!")

// env is an auth server on a fresh database and a fresh RabbitMQ virtual host.
type env struct {
	t         testing.TB
	handler   http.Handler
	store     *auth.Store
	rabbitURL string
	dbName    string
}

func newEnv(t testing.TB, limits auth.Limits) *env {
	t.Helper()
	return newEnvOn(t, testkit.Mongo(t), func(d *auth.Deps) { d.Limits = limits })
}

// newEnvOn is newEnv on db, with Deps as set changes them (a clock, an idle limit).
func newEnvOn(t testing.TB, db *mongo.Database, set func(*auth.Deps)) *env {
	t.Helper()
	ctx := context.Background()
	store, err := auth.NewStore(ctx, db)
	require.NoError(t, err)
	url := testkit.RabbitURL(t)
	b, err := bus.DialRabbit(ctx, url, contract.Topology, testkit.Logger(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	log := testkit.Logger(t)
	if _, isBenchmark := t.(*testing.B); isBenchmark {
		log = slog.New(slog.DiscardHandler) // a line per request would drown the figures
	}
	d := auth.Deps{
		Basics: web.Basics{Log: log, Metrics: metrics.New("auth")}, Store: store, Bus: b,
		Secret: testSecret, TokenIdle: auth.DefaultTokenIdle, PasswordCost: testPasswordCost,
	}
	if set != nil {
		set(&d)
	}
	h := auth.NewServer(d)
	return &env{t: t, handler: h, store: store, rabbitURL: url, dbName: db.Name()}
}

// request describes one call; body is sent as is when a string, else as JSON.
type request struct {
	method, path, token string
	body                any
	addr                string            // client address, host:port
	header              map[string]string // set last, so it can replace Content-Type or Authorization
}

func (e *env) serve(r request) *httptest.ResponseRecorder {
	e.t.Helper()
	return testkit.Serve(e.t, e.handler, testkit.Request{
		Method: r.method, Path: r.path, Token: r.token, Body: r.body, Header: r.header, RemoteAddr: r.addr,
	})
}

func (e *env) get(path, token string) *httptest.ResponseRecorder {
	return e.serve(request{method: http.MethodGet, path: path, token: token})
}

func (e *env) post(path, token string, body any) *httptest.ResponseRecorder {
	return e.serve(request{method: http.MethodPost, path: path, token: token, body: body})
}

// signUp creates a user and returns its token.
func (e *env) signUp(name, login, password string) string {
	e.t.Helper()
	rec := e.post("/users/signup", "", map[string]string{"name": name, "login": login, "password": password})
	require.Equal(e.t, http.StatusOK, rec.Code, rec.Body.String())
	return tokenOf(e.t, rec)
}

func (e *env) signIn(login, password string) string {
	e.t.Helper()
	rec := e.post("/users/signin", "", map[string]string{"login": login, "password": password})
	require.Equal(e.t, http.StatusOK, rec.Code, rec.Body.String())
	return tokenOf(e.t, rec)
}

// admin makes an admin through the bootstrap path and returns its token.
func (e *env) admin() string {
	e.t.Helper()
	_, err := auth.BootstrapAdmin(context.Background(), e.store, testPasswordCost, "root", "root-password")
	require.NoError(e.t, err)
	return e.signIn("root", "root-password")
}

// current returns the user of token, failing unless the token works.
func (e *env) current(token string) auth.User {
	e.t.Helper()
	rec := e.get("/users/current", token)
	require.Equal(e.t, http.StatusOK, rec.Code, rec.Body.String())
	var u auth.User
	require.NoError(e.t, json.Unmarshal(rec.Body.Bytes(), &u))
	return u
}

func tokenOf(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct{ Token string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	require.NotEmpty(t, body.Token)
	return body.Token
}

// errorBody is the SPEC §2 error body.
type errorBody struct {
	Error    string `json:"error"`
	Messages []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"messages"`
}

func errorOf(t testing.TB, rec *httptest.ResponseRecorder) errorBody {
	t.Helper()
	var body errorBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	require.NotEmpty(t, body.Error)
	return body
}

// fieldPaths lists the fields named in the messages of a 400 body.
func fieldPaths(b errorBody) []string {
	var ps []string
	for _, m := range b.Messages {
		ps = append(ps, m.Path)
	}
	return ps
}

// logoutListener is another service instance hearing the auth fanout on its own connection.
type logoutListener struct {
	mu     sync.Mutex
	tokens []string
	heard  []bus.Delivery
}

func listenLogout(t testing.TB, url string) *logoutListener {
	t.Helper()
	l := &logoutListener{}
	testkit.Consume(t, testkit.DialRabbit(t, url), bus.Subscription{Exchange: "auth"},
		func(ctx context.Context, d bus.Delivery) error {
			if d.Type != "logout" {
				return nil
			}
			var token string
			if err := d.Decode(&token); err != nil {
				return err
			}
			l.mu.Lock()
			l.tokens = append(l.tokens, token)
			l.heard = append(l.heard, d)
			l.mu.Unlock()
			return nil
		})
	return l
}

// received tells whether the listener has heard a logout of token.
func (l *logoutListener) received(token string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.tokens, token)
}

func (l *logoutListener) waitFor(t testing.TB, tokens ...string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() bool {
		for _, tok := range tokens {
			if !l.received(tok) {
				return false
			}
		}
		return true
	}, "logout broadcast of ", strings.Join(tokens, ", "))
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range l.heard {
		contracttest.Produced(t, d)
	}
}
