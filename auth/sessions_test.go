package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/contract/contracttest"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
)

var epoch = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// clockEnv is an auth server whose sessions run on clock and expire after idle.
func clockEnv(t *testing.T, idle time.Duration) (*env, *testkit.Clock) {
	clock := testkit.NewClock(epoch)
	e := newEnvOn(t, testkit.Mongo(t), func(d *auth.Deps) { d.Now, d.TokenIdle = clock.Now, idle })
	return e, clock
}

func (e *env) sessions(token string) []auth.Session {
	e.t.Helper()
	rec := e.get("/users/sessions", token)
	require.Equal(e.t, http.StatusOK, rec.Code, rec.Body.String())
	var list []auth.Session
	require.NoError(e.t, json.Unmarshal(rec.Body.Bytes(), &list))
	require.NotNil(e.t, list)
	return list
}

func (e *env) del(path, token string) int {
	e.t.Helper()
	return e.serve(request{method: http.MethodDelete, path: path, token: token}).Code
}

func TestSessionsExpireWhenIdle(t *testing.T) {
	e, clock := clockEnv(t, 720*time.Hour)
	token := e.signUp("Idle", "idle-user", "idle-password")

	clock.Add(719 * time.Hour)
	e.current(token) // used: the last use is recorded (a step has passed)
	clock.Add(719 * time.Hour)
	e.current(token) // 1438h after sign-up, 719h after its last use: alive
	clock.Add(720*time.Hour + time.Second)
	rec := e.get("/users/current", token)
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "a session unused for longer than AUTH_TOKEN_IDLE ends")

	// A use within a step is not recorded: the session's age counts from the recorded use.
	token = e.signIn("idle-user", "idle-password")
	clock.Add(30 * time.Minute) // less than 720h/720
	e.current(token)
	clock.Add(720*time.Hour - 29*time.Minute) // 720h+1m after the recorded use (sign-in)
	assert.Equal(t, http.StatusUnauthorized, e.get("/users/current", token).Code,
		"the last use is recorded at most once per step (an hour at 720h)")
}

func TestSessionsNeverExpireWithZeroIdle(t *testing.T) {
	e, clock := clockEnv(t, 0)
	token := e.signUp("Forever", "forever", "forever-password")
	clock.Add(10 * 365 * 24 * time.Hour)
	e.current(token)
}

// TestTokenCheckRoundTrips counts what GET /users/current costs the store: two reads by _id (the
// token record, the user), and a write only once per step of the idle limit.
func TestTokenCheckRoundTrips(t *testing.T) {
	db, trips := testkit.CountingMongo(t)
	clock := testkit.NewClock(epoch)
	e := newEnvOn(t, db, func(d *auth.Deps) { d.Now = clock.Now })
	token := e.signUp("Trips", "trips", "trips-password")

	var reads int64
	for range 3 {
		reads = trips.During(func() { e.current(token) })
		assert.LessOrEqual(t, reads, int64(2), "a token check is at most two reads")
		clock.Add(10 * time.Minute)
	}
	clock.Add(time.Hour) // a step (720h/720) since the last recorded use
	assert.Equal(t, reads+1, trips.During(func() { e.current(token) }), "and a write once per step")
	assert.Equal(t, reads, trips.During(func() { e.current(token) }), "then reads again")
}

func TestSessionsListAndEnd(t *testing.T) {
	e, clock := clockEnv(t, 720*time.Hour)
	listener := listenLogout(t, e.rabbitURL)
	signIn := func(agent, addr string) string {
		rec := e.serve(request{method: http.MethodPost, path: "/users/signin", addr: addr,
			body:   map[string]string{"login": "many", "password": "many-password"},
			header: map[string]string{"User-Agent": agent}})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return tokenOf(t, rec)
	}
	e.signUp("Many", "many", "many-password")
	clock.Add(time.Minute)
	phone := signIn("Phone\u202e/1.0\x00", "203.0.113.7:5000")
	clock.Add(time.Minute)
	laptop := signIn("Laptop/2.0", "[2001:db8::1]:443")
	other := e.signUp("Other", "other", "other-password")

	list := e.sessions(laptop)
	require.Len(t, list, 3, "sign-up, phone and laptop")
	assert.Equal(t, "Laptop/2.0", list[0].Client, "newest first")
	assert.Equal(t, "2001:db8::1", list[0].Address)
	assert.True(t, list[0].Current)
	assert.Equal(t, epoch.Add(2*time.Minute), list[0].Created)
	assert.Equal(t, "Phone/1.0", list[1].Client, "control and bidi characters are dropped")
	assert.Equal(t, "203.0.113.7", list[1].Address)
	assert.False(t, list[1].Current)
	phoneID := list[1].ID
	signUpID := list[2].ID
	assert.Equal(t, epoch, list[2].LastUsed)

	otherID := e.sessions(other)[0].ID
	for name, tc := range map[string]struct {
		path   string
		token  string
		status int
	}{
		"someone else's":  {"/users/sessions/" + otherID, laptop, http.StatusNotFound},
		"unknown":         {"/users/sessions/" + "0123456789abcdef01234567", laptop, http.StatusNotFound},
		"malformed":       {"/users/sessions/nope", laptop, http.StatusBadRequest},
		"no token":        {"/users/sessions/" + phoneID, "", http.StatusUnauthorized},
		"all, no token":   {"/users/sessions", "", http.StatusUnauthorized},
		"list, bad token": {"/users/sessions", "x.y.z", http.StatusUnauthorized},
	} {
		assert.Equal(t, tc.status, e.del(tc.path, tc.token), name)
	}
	e.current(other) // untouched

	require.Equal(t, http.StatusOK, e.del("/users/sessions/"+phoneID, laptop))
	assert.Equal(t, http.StatusUnauthorized, e.get("/users/current", phone).Code)
	listener.waitFor(t, phone)
	assert.Equal(t, http.StatusNotFound, e.del("/users/sessions/"+phoneID, laptop), "ended already")
	ids := func(list []auth.Session) (ids []string) {
		for _, s := range list {
			ids = append(ids, s.ID)
		}
		return ids
	}
	assert.NotContains(t, ids(e.sessions(laptop)), phoneID)

	// An expired session is not listed.
	clock.Add(700 * time.Hour)
	e.current(laptop)
	clock.Add(100 * time.Hour) // the sign-up session: 802h unused
	assert.Equal(t, ids(e.sessions(laptop)), []string{e.sessions(laptop)[0].ID})
	assert.NotContains(t, ids(e.sessions(laptop)), signUpID)

	// All but the current one.
	tablet := signIn("Tablet", "198.51.100.1:1")
	require.Len(t, e.sessions(tablet), 2)
	require.Equal(t, http.StatusOK, e.del("/users/sessions", tablet))
	assert.Equal(t, http.StatusUnauthorized, e.get("/users/current", laptop).Code)
	listener.waitFor(t, laptop)
	list = e.sessions(tablet)
	require.Len(t, list, 1)
	assert.True(t, list[0].Current)

	// The current one, as a sign-out.
	require.Equal(t, http.StatusOK, e.del("/users/sessions/"+list[0].ID, tablet))
	assert.Equal(t, http.StatusUnauthorized, e.get("/users/current", tablet).Code)
	listener.waitFor(t, tablet)
}

func TestAdminSignsOutUser(t *testing.T) {
	e := newEnv(t, auth.Limits{})
	listener := listenLogout(t, e.rabbitURL)
	admin := e.admin()
	t1 := e.signUp("Lost", "lost-phone", "lost-password")
	t2 := e.signIn("lost-phone", "lost-password")
	bystander := e.signUp("By", "bystander", "bystander-password")
	id := e.current(t1).ID

	for name, tc := range map[string]struct {
		path, token string
		status      int
	}{
		"not an admin": {"/users/" + id + "/signout", bystander, http.StatusForbidden},
		"no token":     {"/users/" + id + "/signout", "", http.StatusUnauthorized},
		"malformed id": {"/users/nope/signout", admin, http.StatusBadRequest},
		"unknown user": {"/users/0123456789abcdef01234567/signout", admin, http.StatusNotFound},
	} {
		assert.Equal(t, tc.status, e.post(tc.path, tc.token, nil).Code, name)
	}
	e.current(t1)

	require.Equal(t, http.StatusOK, e.post("/users/"+id+"/signout", admin, nil).Code)
	for _, tok := range []string{t1, t2} {
		assert.Equal(t, http.StatusUnauthorized, e.get("/users/current", tok).Code)
	}
	listener.waitFor(t, t1, t2)
	e.current(bystander)
	e.current(admin)
	assert.Equal(t, http.StatusOK, e.post("/users/"+id+"/signout", admin, nil).Code, "again: nothing left to end")
	e.signIn("lost-phone", "lost-password") // the account itself is untouched
}

// changeListener is another service instance hearing user-changed on the auth fanout.
type changeListener struct {
	mu    sync.Mutex
	heard []bus.Delivery
	users []string
}

func listenUserChanged(t testing.TB, url string) *changeListener {
	t.Helper()
	l := &changeListener{}
	testkit.Consume(t, testkit.DialRabbit(t, url), bus.Subscription{Exchange: contract.ExchangeAuth},
		func(ctx context.Context, d bus.Delivery) error {
			if d.Type != contract.TypeUserChanged {
				return nil
			}
			var m contract.UserChanged
			if err := d.Decode(&m); err != nil {
				return err
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			l.heard = append(l.heard, d)
			l.users = append(l.users, m.UserID)
			return nil
		})
	return l
}

func (l *changeListener) count(userID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, u := range l.users {
		if u == userID {
			n++
		}
	}
	return n
}

// TestUserChangesAreBroadcast checks that grant, revoke, enable and disable each broadcast
// user-changed for the user, in the contract's form, and that a refused change broadcasts nothing.
func TestUserChangesAreBroadcast(t *testing.T) {
	e := newEnv(t, auth.Limits{})
	listener := listenUserChanged(t, e.rabbitURL)
	admin := e.admin()
	user := e.current(e.signUp("Changed", "changed", "changed-password"))
	perms := map[string][]string{"permissions": {"admin"}}
	steps := []struct{ path string }{
		{"/users/" + user.ID + "/grant"}, {"/users/" + user.ID + "/revoke"},
		{"/users/" + user.ID + "/disable"}, {"/users/" + user.ID + "/enable"},
	}
	for i, s := range steps {
		require.Equal(t, http.StatusOK, e.post(s.path, admin, perms).Code, s.path)
		testkit.Eventually(t, 10*time.Second, func() bool { return listener.count(user.ID) == i+1 },
			"user-changed after ", s.path)
	}
	listener.mu.Lock()
	for _, d := range listener.heard {
		contracttest.Produced(t, d)
	}
	listener.mu.Unlock()
	assert.Equal(t, http.StatusBadRequest, e.post("/users/"+user.ID+"/grant", admin, map[string][]string{"permissions": {}}).Code)
	assert.Equal(t, len(steps), listener.count(user.ID), "a refused change is not broadcast")
}

// TestNoSelfLockout: an admin cannot revoke its own admin permission nor disable itself, in
// any letter case of its id; it may revoke another permission of its own, and another admin's.
func TestNoSelfLockout(t *testing.T) {
	e := newEnv(t, auth.Limits{})
	admin := e.admin()
	me := e.current(admin)
	for _, tc := range []struct{ path, perm string }{
		{"/users/" + me.ID + "/revoke", "admin"},
		{"/users/" + me.ID + "/revoke", "user"}, // with admin below
	} {
		body := map[string][]string{"permissions": {tc.perm}}
		if tc.perm == "user" {
			body["permissions"] = []string{"user", "admin"}
		}
		rec := e.post(tc.path, admin, body)
		assert.Equal(t, http.StatusConflict, rec.Code, rec.Body.String())
		assert.Contains(t, errorOf(t, rec).Error, "own admin")
	}
	assert.Equal(t, http.StatusConflict, e.post("/users/"+strings.ToUpper(me.ID)+"/revoke", admin,
		map[string][]string{"permissions": {"admin"}}).Code, "id in capitals")
	assert.Equal(t, http.StatusConflict, e.post("/users/"+me.ID+"/disable", admin, nil).Code)
	assert.True(t, e.current(admin).Has("admin"), "nothing was revoked")

	assert.Equal(t, http.StatusOK, e.post("/users/"+me.ID+"/revoke", admin, map[string][]string{"permissions": {"user"}}).Code)
	other := e.signUp("Second", "second-admin", "second-password")
	otherID := e.current(other).ID
	require.Equal(t, http.StatusOK, e.post("/users/"+otherID+"/grant", admin, map[string][]string{"permissions": {"admin"}}).Code)
	require.Equal(t, http.StatusOK, e.post("/users/"+otherID+"/revoke", admin, map[string][]string{"permissions": {"admin"}}).Code)
	assert.False(t, e.current(other).Has("admin"))
}

// TestChangesReachEveryInstance runs two auth instances on one database and two token caches
// (two instances of another service) on one RabbitMQ: a grant, a revoke and an admin's
// sign-out made through one auth instance show on the very next check of both caches, which
// held the old answer.
func TestChangesReachEveryInstance(t *testing.T) {
	db := testkit.Mongo(t)
	first := newEnvOn(t, db, nil)
	second := newEnvOn(t, db, func(d *auth.Deps) {
		b, err := bus.DialRabbit(context.Background(), first.rabbitURL, contract.Topology, testkit.Logger(t))
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		d.Bus = b // the same virtual host as the first
	})
	var urls []string
	for _, e := range []*env{first, second} {
		srv := httptest.NewServer(e.handler)
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var caches []*tokens.Checker
	for i := range 2 {
		c := tokens.NewChecker(urls[i], time.Hour)
		b := testkit.DialRabbit(t, first.rabbitURL)
		go func() { _ = c.ListenLogout(ctx, b) }()
		testkit.Eventually(t, 10*time.Second, c.Listening, "cache never listening")
		caches = append(caches, c)
	}
	admin := first.admin()
	token := second.signUp("Promoted", "promoted", "promoted-password")
	id := second.current(token).ID
	isAdmin := func(c *tokens.Checker) bool {
		u, err := c.Check(ctx, token)
		require.NoError(t, err)
		return u.IsAdmin()
	}
	for _, c := range caches {
		require.False(t, isAdmin(c)) // cached for an hour
	}

	require.Equal(t, http.StatusOK, first.post("/users/"+id+"/grant", admin, map[string][]string{"permissions": {"admin"}}).Code)
	for i, c := range caches {
		testkit.Eventually(t, 5*time.Second, func() bool { return isAdmin(c) }, "the grant reaches cache ", i)
	}
	require.Equal(t, http.StatusOK, second.post("/users/"+id+"/revoke", admin, map[string][]string{"permissions": {"admin"}}).Code)
	for i, c := range caches {
		testkit.Eventually(t, 5*time.Second, func() bool { return !isAdmin(c) }, "the revoke reaches cache ", i)
	}
	require.Equal(t, http.StatusOK, first.post("/users/"+id+"/signout", admin, nil).Code)
	for i, c := range caches {
		testkit.Eventually(t, 5*time.Second, func() bool {
			_, err := c.Check(ctx, token)
			return err != nil
		}, "the admin's sign-out reaches cache ", i)
	}
}
