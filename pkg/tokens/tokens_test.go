package tokens_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
)

// listening starts c's logout listener on an in-process broker and waits until it is up: only
// then does c use its cache.
func listening(t testing.TB, c *tokens.Checker) *tokens.Checker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.ListenLogout(ctx, bus.NewMemory(contract.Topology)) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	testkit.Eventually(t, 5*time.Second, c.Listening, "logout listener never started")
	return c
}

func TestCheckCachesAndEvicts(t *testing.T) {
	auth := testkit.NewAuth(t)
	auth.Add("tok-1", "u1")
	c := listening(t, tokens.NewChecker(auth.URL, time.Minute))
	ctx := context.Background()

	u, err := c.Check(ctx, "tok-1")
	require.NoError(t, err)
	assert.Equal(t, "u1", u.ID)
	_, err = c.Check(ctx, "tok-1")
	require.NoError(t, err)
	assert.Equal(t, 1, auth.Calls(), "second check must come from the cache")

	auth.Revoke("tok-1")
	_, err = c.Check(ctx, "tok-1")
	require.NoError(t, err, "still cached until evicted")
	c.Evict("tok-1")
	_, err = c.Check(ctx, "tok-1")
	assert.ErrorIs(t, err, errs.Unauthorized)
}

func TestCheckExpires(t *testing.T) {
	auth := testkit.NewAuth(t)
	auth.Add("tok", "u1")
	c := listening(t, tokens.NewChecker(auth.URL, 50*time.Millisecond))
	_, err := c.Check(context.Background(), "tok")
	require.NoError(t, err)
	auth.Revoke("tok")
	testkit.Eventually(t, 5*time.Second, func() bool {
		_, err := c.Check(context.Background(), "tok")
		return err != nil
	}, "revoked token should stop working once its cache entry expires")
}

func TestCheckErrors(t *testing.T) {
	auth := testkit.NewAuth(t)
	c := tokens.NewChecker(auth.URL, time.Minute)
	_, err := c.Check(context.Background(), "")
	assert.ErrorIs(t, err, errs.Unauthorized)
	_, err = c.Check(context.Background(), "unknown")
	assert.ErrorIs(t, err, errs.Unauthorized)

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	_, err = tokens.NewChecker(down.URL, time.Minute).Check(context.Background(), "tok")
	assert.ErrorIs(t, err, errs.Unavailable)

	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer broken.Close()
	_, err = tokens.NewChecker(broken.URL, time.Minute).Check(context.Background(), "tok")
	assert.ErrorIs(t, err, errs.Unavailable)
}

func TestConcurrentMissesAskAuthOnce(t *testing.T) {
	auth := testkit.NewAuth(t)
	auth.Add("tok", "u1")
	c := listening(t, tokens.NewChecker(auth.URL, time.Minute))
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Check(context.Background(), "tok")
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, auth.Calls(), 2)
}

func TestMiddleware(t *testing.T) {
	auth := testkit.NewAuth(t)
	auth.Add("user-tok", "u1")
	auth.Add("admin-tok", "a1", "user", "admin")
	c := tokens.NewChecker(auth.URL, time.Minute)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := tokens.UserFrom(r.Context())
		require.True(t, ok)
		_ = json.NewEncoder(w).Encode(u)
	})
	tests := []struct {
		name   string
		mw     func(http.Handler) http.Handler
		header string
		status int
	}{
		{"user ok", c.RequireUser(log), "Bearer user-tok", 200},
		{"scheme any case", c.RequireUser(log), "bEaReR user-tok", 200},
		{"no token", c.RequireUser(log), "", 401},
		{"bad token", c.RequireUser(log), "Bearer nope", 401},
		{"not bearer", c.RequireUser(log), "Basic user-tok", 401},
		{"admin ok", c.RequireAdmin(log), "Bearer admin-tok", 200},
		{"user is not admin", c.RequireAdmin(log), "Bearer user-tok", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Authorization", tc.header)
			rec := httptest.NewRecorder()
			tc.mw(whoami).ServeHTTP(rec, req)
			assert.Equal(t, tc.status, rec.Code, rec.Body.String())
		})
	}
}

// TestLogoutEvicts checks the logout broadcast on a real RabbitMQ: two checkers (two service
// instances) both drop a token that is still in their cache.
func TestLogoutEvicts(t *testing.T) {
	auth := testkit.NewAuth(t)
	auth.Add("tok", "u1")
	auth.Add("probe", "u2")
	url := testkit.RabbitURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	publisher, err := bus.DialRabbit(ctx, url, contract.Topology, testkit.Logger(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = publisher.Close() })

	var checkers []*tokens.Checker
	for range 2 {
		b, err := bus.DialRabbit(ctx, url, contract.Topology, testkit.Logger(t))
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		c := tokens.NewChecker(auth.URL, time.Minute)
		go func() { _ = c.ListenLogout(ctx, b) }()
		checkers = append(checkers, c)
	}
	// Wait until both listeners are bound: a logout of "probe" then makes the next check ask auth again.
	for _, c := range checkers {
		testkit.Eventually(t, 10*time.Second, func() bool {
			_, err := c.Check(ctx, "probe")
			require.NoError(t, err)
			before := auth.Calls()
			require.NoError(t, bus.Send(ctx, publisher, "auth", "", "logout", "probe"))
			time.Sleep(50 * time.Millisecond)
			_, err = c.Check(ctx, "probe")
			require.NoError(t, err)
			return auth.Calls() > before
		}, "logout listener never bound")
	}

	for _, c := range checkers {
		_, err := c.Check(ctx, "tok")
		require.NoError(t, err)
	}
	auth.Revoke("tok")
	require.NoError(t, bus.Send(ctx, publisher, "auth", "", "logout", "tok"))
	for _, c := range checkers {
		testkit.Eventually(t, 5*time.Second, func() bool {
			_, err := c.Check(ctx, "tok")
			return err != nil
		}, "logout should evict the token in every checker")
	}
}

// TestNoCacheWithoutLogoutSubscription checks that a checker that does not hear logouts trusts
// no cached answer: before its listener starts, and after it stops, every check asks auth.
func TestNoCacheWithoutLogoutSubscription(t *testing.T) {
	auth := testkit.NewAuth(t)
	auth.Add("tok", "u1")
	c := tokens.NewChecker(auth.URL, time.Minute)
	ctx := context.Background()
	assert.ErrorIs(t, c.Ready(ctx), errs.Unavailable, "not ready before the listener starts")
	for range 3 {
		_, err := c.Check(ctx, "tok")
		require.NoError(t, err)
	}
	assert.Equal(t, 3, auth.Calls(), "no listener, no cache")

	listenCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.ListenLogout(listenCtx, bus.NewMemory(contract.Topology)) }()
	testkit.Eventually(t, 5*time.Second, c.Listening, "logout listener never started")
	require.NoError(t, c.Ready(ctx))
	for range 3 {
		_, err := c.Check(ctx, "tok")
		require.NoError(t, err)
	}
	assert.Equal(t, 4, auth.Calls(), "listening: one call, then the cache")

	stop()
	require.NoError(t, <-done)
	assert.False(t, c.Listening())
	auth.Revoke("tok")
	_, err := c.Check(ctx, "tok")
	assert.ErrorIs(t, err, errs.Unauthorized, "the cached answer was dropped with the subscription")
}

// TestLostLogoutSubscription breaks the logout subscription for real: the broker (a disposable
// node of the test's own) goes away. Until the subscription is back, the checker asks auth for
// every token, so a token revoked meanwhile — whose logout broadcast nobody heard — fails at
// once, and it reports itself not ready.
func TestLostLogoutSubscription(t *testing.T) {
	node := testkit.StartRabbitNode(t, 5711)
	auth := testkit.NewAuth(t)
	auth.Add("tok", "u1")
	auth.Add("other", "u2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := testkit.DialRabbit(t, node.URL)
	c := tokens.NewChecker(auth.URL, time.Minute)
	go func() { _ = c.ListenLogout(ctx, b) }()
	testkit.Eventually(t, 10*time.Second, c.Listening, "logout listener never started")

	_, err := c.Check(ctx, "tok")
	require.NoError(t, err)
	_, err = c.Check(ctx, "tok")
	require.NoError(t, err)
	require.Equal(t, 1, auth.Calls(), "cached while subscribed")

	node.Stop()
	testkit.Eventually(t, 30*time.Second, func() bool { return !c.Listening() }, "loss of the subscription not noticed")
	assert.ErrorIs(t, c.Ready(ctx), errs.Unavailable)
	before := auth.Calls()
	for range 2 {
		_, err := c.Check(ctx, "other")
		require.NoError(t, err)
	}
	assert.Equal(t, before+2, auth.Calls(), "every check asks auth while unsubscribed")
	auth.Revoke("tok") // its logout broadcast would be lost now
	_, err = c.Check(ctx, "tok")
	assert.ErrorIs(t, err, errs.Unauthorized, "a token revoked while unsubscribed fails at once")

	node.Start()
	testkit.Eventually(t, 60*time.Second, c.Listening, "subscription not restored after the broker came back")
	require.NoError(t, c.Ready(ctx))
	before = auth.Calls()
	for range 2 {
		_, err := c.Check(ctx, "other")
		require.NoError(t, err)
	}
	assert.Equal(t, before+1, auth.Calls(), "cached again once subscribed")
}

// A check that asked auth just before the token was revoked, and got its answer only after the
// logout broadcast arrived, must not cache the (by then stale) "valid": the token would
// otherwise keep working on this service until the entry expired.
func TestLogoutDuringCheckIsNotUndone(t *testing.T) {
	asked, answer := make(chan struct{}), make(chan struct{})
	var calls sync.Mutex
	n := 0
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Lock()
		n++
		first := n == 1
		calls.Unlock()
		if !first { // auth knows by now that the token is revoked
			http.Error(w, `{"error":"invalid token"}`, http.StatusUnauthorized)
			return
		}
		close(asked)
		<-answer // auth decided "valid" before the revocation; the answer is slow to arrive
		_ = json.NewEncoder(w).Encode(tokens.User{ID: "u1", Login: "u1", Permissions: []string{"user"}, Enabled: true})
	}))
	t.Cleanup(auth.Close)
	c := listening(t, tokens.NewChecker(auth.URL, time.Hour))

	first := make(chan error, 1)
	go func() {
		_, err := c.Check(context.Background(), "tok")
		first <- err
	}()
	<-asked
	c.Evict("tok") // the logout broadcast arrives while that answer is on its way
	close(answer)
	require.NoError(t, <-first, "the check that asked before the logout gets auth's answer")

	_, err := c.Check(context.Background(), "tok")
	assert.ErrorIs(t, err, errs.Unauthorized, "the token must not come back from the cache after its logout")
}

// TestEvictUser checks that a user change drops every cached token of that user, and only
// those: the next check of that user's tokens asks auth and sees the new permissions.
func TestEvictUser(t *testing.T) {
	auth := testkit.NewAuth(t)
	auth.Add("a1", "u1")
	auth.Add("a2", "u1")
	auth.Add("b1", "u2")
	c := listening(t, tokens.NewChecker(auth.URL, time.Hour))
	ctx := context.Background()
	for _, tok := range []string{"a1", "a2", "b1"} {
		_, err := c.Check(ctx, tok)
		require.NoError(t, err)
	}
	auth.Add("a1", "u1", "user", "admin")
	auth.Add("a2", "u1", "user", "admin")
	u, err := c.Check(ctx, "a1")
	require.NoError(t, err)
	assert.False(t, u.IsAdmin(), "cached until the user changes")

	c.EvictUser("u1")
	before := auth.Calls()
	for _, tok := range []string{"a1", "a2"} {
		u, err := c.Check(ctx, tok)
		require.NoError(t, err)
		assert.True(t, u.IsAdmin(), "the grant shows on the next check of %s", tok)
	}
	_, err = c.Check(ctx, "b1")
	require.NoError(t, err)
	assert.Equal(t, before+2, auth.Calls(), "another user's token stays cached")
}

// TestUserChangedEvicts checks the user-changed broadcast on a real RabbitMQ: two checkers (two
// service instances) both drop the cached answers of the changed user's tokens.
func TestUserChangedEvicts(t *testing.T) {
	auth := testkit.NewAuth(t)
	auth.Add("tok", "u1")
	url := testkit.RabbitURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	publisher, err := bus.DialRabbit(ctx, url, contract.Topology, testkit.Logger(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = publisher.Close() })

	var checkers []*tokens.Checker
	for range 2 {
		b, err := bus.DialRabbit(ctx, url, contract.Topology, testkit.Logger(t))
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		c := tokens.NewChecker(auth.URL, time.Hour)
		go func() { _ = c.ListenLogout(ctx, b) }()
		testkit.Eventually(t, 10*time.Second, c.Listening, "listener never started")
		checkers = append(checkers, c)
	}
	for _, c := range checkers {
		u, err := c.Check(ctx, "tok")
		require.NoError(t, err)
		require.False(t, u.IsAdmin())
	}
	auth.Add("tok", "u1", "user", "admin") // the grant, as auth's store now says
	require.NoError(t, bus.Send(ctx, publisher, contract.ExchangeAuth, "", contract.TypeUserChanged,
		contract.UserChanged{UserID: "u1"}))
	for _, c := range checkers {
		testkit.Eventually(t, 5*time.Second, func() bool {
			u, err := c.Check(ctx, "tok")
			return err == nil && u.IsAdmin()
		}, "user-changed should drop u1's cached answer in every checker")
	}
}
