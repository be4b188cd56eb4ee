package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// newTestClock is the rate limits' clock in these tests. It starts 10 s into an hour, so no
// window of a minute or an hour ends before the test moves it.
func newTestClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC))
}

// fleet is n auth servers on one database, as n instances behind a load balancer; call
// sends each request to the next one in turn.
type authFleet struct {
	t       testing.TB
	store   *auth.Store
	servers []http.Handler
	mu      sync.Mutex
	turn    int
}

func newAuthFleet(t testing.TB, n int, limits auth.Limits, clock *testkit.Clock) *authFleet {
	t.Helper()
	ctx := context.Background()
	store, err := auth.NewStore(ctx, testkit.Mongo(t))
	require.NoError(t, err)
	b := bus.NewMemory(contract.Topology)
	t.Cleanup(func() { _ = b.Close() })
	f := &authFleet{t: t, store: store}
	for range n {
		f.servers = append(f.servers, auth.NewServer(auth.Deps{
			Basics: web.Basics{Log: testkit.Logger(t), Metrics: metrics.New("auth")},
			Store:  store, Bus: b, Secret: testSecret, Limits: limits, Now: clock.Now, PasswordCost: testPasswordCost,
		}))
	}
	return f
}

// post sends a JSON body from addr (host:port) to the next server.
func (f *authFleet) post(path, addr string, body any) *httptest.ResponseRecorder {
	f.mu.Lock()
	h := f.servers[f.turn%len(f.servers)]
	f.turn++
	f.mu.Unlock()
	return testkit.Serve(f.t, h, testkit.Request{Method: http.MethodPost, Path: path, Body: body, RemoteAddr: addr})
}

func (f *authFleet) signIn(login, password, addr string) *httptest.ResponseRecorder {
	return f.post("/users/signin", addr, map[string]string{"login": login, "password": password})
}

func (f *authFleet) signUp(login, addr string) *httptest.ResponseRecorder {
	return f.post("/users/signup", addr, map[string]string{"name": "Someone", "login": login, "password": login + "-password"})
}

// v6 is an address of the /64 2001:db8:0:<net>::/64, as host:port.
func v6(net, host int) string { return fmt.Sprintf("[2001:db8:0:%x::%x]:4000", net, host) }

// guessInParallel sends one wrong password for login from each address at once and counts
// the answers by status.
func (f *authFleet) guessInParallel(login string, addrs []string) map[int]int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	counts := map[int]int{}
	for i, addr := range addrs {
		wg.Go(func() {
			rec := f.signIn(login, "guess-"+strconv.Itoa(i), addr)
			if rec.Code == http.StatusTooManyRequests {
				assert.NotEmpty(f.t, rec.Header().Get("Retry-After"))
			}
			mu.Lock()
			counts[rec.Code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return counts
}

// Issue "one shopper must not hurt the others", attack (a): many parallel guesses from the
// addresses of one IPv6 /64. The /64 counts as one address, so its failures on the login stop
// at PerLogin, however many of its addresses guess at once.
func TestSignInCountsIPv6PerSlash64(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	f := newAuthFleet(t, 1, auth.Limits{PerLogin: 5, PerAddress: 100}, clock)
	require.Equal(t, 200, f.signUp("ivan", v6(1, 1)).Code)

	var addrs []string
	for i := range 120 {
		addrs = append(addrs, v6(0xbad, 1+i%40)) // 40 addresses of one /64
	}
	counts := f.guessInParallel("ivan", addrs)
	t.Logf("120 guesses from 40 addresses of one /64: %d checked (401), %d refused (429)", counts[401], counts[429])
	assert.Equal(t, map[int]int{401: 5, 429: 115}, counts)

	// Its neighbour /64 is another customer: not refused.
	assert.Equal(t, 401, f.signIn("ivan", "wrong-password", v6(0xbae, 1)).Code)
	// The owner signs in from where they signed up.
	assert.Equal(t, 200, f.signIn("ivan", "ivan-password", v6(1, 99)).Code)

	// The per-address limit counts a /64 too: PerAddress attempts on any logins.
	g := newAuthFleet(t, 1, auth.Limits{PerAddress: 3}, clock)
	for i := range 3 {
		assert.Equal(t, 401, g.signIn("login-"+strconv.Itoa(i), "whatever-pw", v6(7, i+1)).Code)
	}
	rec := g.signIn("login-x", "whatever-pw", v6(7, 0xffff))
	assert.Equal(t, 429, rec.Code)
	assert.Equal(t, "50", rec.Header().Get("Retry-After"), "until the minute ends")
}

// The hard per-login limit: failures from every unfamiliar address together. The owner keeps
// signing in from an address they signed in from before; from a brand-new address they are
// refused until the window ends, like the attacker.
func TestSignInLoginLimitSparesTheOwner(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	limits := auth.Limits{PerLogin: 3, LoginFailures: 10, LoginWindow: time.Hour}
	f := newAuthFleet(t, 2, limits, clock)
	require.Equal(t, 200, f.signUp("olga", "198.51.100.1:1000").Code, "olga signs up at home")
	require.Equal(t, 200, f.signIn("olga", "olga-password", "[2001:db8:aaaa:1::5]:1000").Code, "and signs in on her phone")

	// A botnet: 300 addresses, each in its own /64 or IPv4 address, guessing at once.
	var addrs []string
	for i := range 150 {
		addrs = append(addrs, v6(0x100+i, 1), fmt.Sprintf("203.0.%d.%d:5000", i/200, 1+i%200))
	}
	counts := f.guessInParallel("olga", addrs)
	t.Logf("300 guesses from 300 addresses on two instances: %d checked (401), %d refused (429)", counts[401], counts[429])
	assert.Equal(t, map[int]int{401: 10, 429: 290}, counts, "exactly LoginFailures checked")

	// The owner from her familiar addresses: in, through the attack.
	assert.Equal(t, 200, f.signIn("olga", "olga-password", "198.51.100.1:2000").Code, "home")
	assert.Equal(t, 200, f.signIn("OLGA", "olga-password", "[2001:db8:aaaa:1::77]:2000").Code, "phone, another address of its /64")
	// Her typos there are held to the per-address limit only.
	for range 3 {
		assert.Equal(t, 401, f.signIn("olga", "typo-password", "198.51.100.1:2000").Code)
	}
	assert.Equal(t, 429, f.signIn("olga", "olga-password", "198.51.100.1:2000").Code, "PerLogin at home")
	assert.Equal(t, 200, f.signIn("olga", "olga-password", "[2001:db8:aaaa:1::77]:2000").Code, "the phone is not the home")

	// From a brand-new address, she waits out the attack's window like anyone.
	rec := f.signIn("olga", "olga-password", "192.0.2.50:1000")
	assert.Equal(t, 429, rec.Code)
	assert.Equal(t, "3590", rec.Header().Get("Retry-After"), "until the hour ends")
	errorOf(t, rec)
	require.Equal(t, 200, f.signUp("pablo", "192.0.2.99:1000").Code)
	assert.Equal(t, 200, f.signIn("pablo", "pablo-password", "192.0.2.50:1001").Code, "other logins are not affected")

	clock.Add(time.Hour)
	assert.Equal(t, 200, f.signIn("olga", "olga-password", "192.0.2.50:1002").Code, "a new window")
	assert.Equal(t, 200, f.signIn("olga", "olga-password", "192.0.2.50:1003").Code, "and the new address is familiar now")
}

// Counted in the store: two instances allow together what one allows, for each limit.
func TestLimitsSharedByInstances(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	one := newAuthFleet(t, 1, auth.Limits{PerLogin: 4, PerAddress: 6, SignUps: 3}, clock)
	two := newAuthFleet(t, 2, auth.Limits{PerLogin: 4, PerAddress: 6, SignUps: 3}, clock)
	for name, f := range map[string]*authFleet{"one instance": one, "two instances": two} {
		t.Run(name, func(t *testing.T) {
			var signUps, pair, address []int
			for i := range 5 {
				signUps = append(signUps, f.signUp("user-"+strconv.Itoa(i), "10.20.0.1:1000").Code)
			}
			for range 6 {
				pair = append(pair, f.signIn("user-0", "wrong-password", "10.20.0.2:1000").Code)
			}
			for i := range 8 {
				address = append(address, f.signIn("nobody-"+strconv.Itoa(i), "wrong-password", "10.20.0.3:1000").Code)
			}
			assert.Equal(t, []int{200, 200, 200, 429, 429}, signUps, "SignUps")
			assert.Equal(t, []int{401, 401, 401, 401, 429, 429}, pair, "PerLogin")
			assert.Equal(t, []int{401, 401, 401, 401, 401, 401, 429, 429}, address, "PerAddress")
		})
	}
}

// SPEC §2: successful sign-ups per address per hour, 429 with Retry-After past them; failed
// sign-ups do not count; Unlimited turns the quota off.
func TestSignUpQuota(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	f := newAuthFleet(t, 2, auth.Limits{SignUps: 3}, clock)
	require.Equal(t, 200, f.signUp("taken", "10.30.0.9:1000").Code)
	assert.Equal(t, 409, f.signUp("taken", "10.30.0.1:1000").Code, "a taken login is no sign-up")
	assert.Equal(t, 400, f.post("/users/signup", "10.30.0.1:1000", map[string]string{"login": "x"}).Code)

	// Parallel sign-ups cannot pass the quota.
	var mu sync.Mutex
	var wg sync.WaitGroup
	counts := map[int]int{}
	for i := range 12 {
		wg.Go(func() {
			code := f.signUp("flood-"+strconv.Itoa(i), "10.30.0.1:1000").Code
			mu.Lock()
			counts[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, map[int]int{200: 3, 429: 9}, counts)
	rec := f.signUp("one-more", "10.30.0.1:2000")
	assert.Equal(t, 429, rec.Code)
	assert.Equal(t, "3590", rec.Header().Get("Retry-After"))
	errorOf(t, rec)
	assert.Equal(t, 200, f.signUp("elsewhere", "10.30.0.2:1000").Code, "other addresses are not affected")
	assert.Equal(t, 200, f.signIn("elsewhere", "elsewhere-password", "10.30.0.1:3000").Code, "signing in is not signing up")

	clock.Add(time.Hour)
	assert.Equal(t, 200, f.signUp("next-hour", "10.30.0.1:1000").Code)

	off := newAuthFleet(t, 1, auth.Limits{SignUps: auth.Unlimited}, clock)
	for i := range 5 {
		assert.Equal(t, 200, off.signUp("free-"+strconv.Itoa(i), "10.30.0.1:1000").Code)
	}
}
