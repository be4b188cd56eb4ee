package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// The guessing limits of auth as this test configures them (and the defaults it keeps).
const (
	guessPerLogin      = 10 // failures per address (an IPv6 /64) and login per minute: the default
	guessLoginFailures = 15 // failures per login from unfamiliar addresses per guessLoginWindow
	guessLoginWindow   = 24 * time.Hour
	guessSignUps       = 5 // successful sign-ups per address per hour
)

// TestHostileGuessing replays the attacks of the issue "one shopper must not be able to hurt the
// others" against the fleet of processes: (a) 1,000 password guesses on one login, in
// parallel, from 40 IPv6 addresses of one /64 (reported: 400 checked, the password found); the
// same from a botnet, every address its own network; and (b) a sign-up flood from one address.
// The fleet believes X-Forwarded-For from 127.0.0.1, as it would from the storefront, so the
// test can speak from any address. It prints how many guesses were checked and refused, and
// that the owner still signed in.
func TestHostileGuessing(t *testing.T) {
	parallel(t)
	s := startProcesses(t, testkit.RabbitURL(t),
		"AUTH_TRUSTED_PROXIES=127.0.0.1,::1",
		"AUTH_SIGNIN_FAILURES_PER_LOGIN="+strconv.Itoa(guessLoginFailures),
		"AUTH_SIGNIN_LOGIN_WINDOW="+guessLoginWindow.String(),
		"AUTH_SIGNUPS_PER_HOUR="+strconv.Itoa(guessSignUps))
	h := &guesser{t: t, url: s.urls["auth"], http: &http.Client{Timeout: 60 * time.Second}}
	owner, home := testkit.Name("owner"), "198.51.100.7"
	const password = "the owner's long password"
	require.Equal(t, 200, h.post("/users/signup", home, map[string]string{"name": "Owner", "login": owner, "password": password}).status)
	minute, day := windowOf(time.Minute), windowOf(guessLoginWindow)

	// (a) 1,000 guesses, 40 at a time, from 40 addresses of 2001:db8:bad:1::/64.
	var one []string
	for i := range 40 {
		one = append(one, fmt.Sprintf("2001:db8:bad:1::%x", 0x100+i))
	}
	a := h.guess(owner, 1000, 40, func(i int) string { return one[i%len(one)] })
	t.Logf("attack (a): 1000 guesses from 40 addresses of one /64 in %s: %d checked (401), %d refused (429), %d other",
		a.took.Round(time.Millisecond), a.checked, a.refused, a.other)
	assert.Zero(t, a.other)
	assert.LessOrEqual(t, a.checked, guessPerLogin*minute.crossed(), "the /64 is one address")
	assert.Equal(t, 1000, a.checked+a.refused)

	// The same from a botnet: 300 guesses, every address its own network.
	b := h.guess(owner, 300, 40, func(i int) string {
		if i%2 == 0 {
			return fmt.Sprintf("2001:db8:%x:%x::1", 0x1000+i/256, i%256)
		}
		return fmt.Sprintf("203.0.%d.%d", i/250, 1+i%250)
	})
	t.Logf("botnet: 300 guesses from 300 networks in %s: %d checked (401), %d refused (429), %d other",
		b.took.Round(time.Millisecond), b.checked, b.refused, b.other)
	assert.Zero(t, b.other)
	assert.LessOrEqual(t, a.checked+b.checked, guessLoginFailures*day.crossed(),
		"at most %d guesses a day on one login, from all unfamiliar addresses together", guessLoginFailures)

	// The owner signs in from home, through the attack; from a brand-new address they wait
	// for the attack's window to end, like the attacker (the trade-off, see auth/ratelimit.go).
	r := h.post("/users/signin", home, map[string]string{"login": owner, "password": password})
	assert.Equal(t, 200, r.status, "the owner signs in from a familiar address")
	t.Logf("the owner signed in from home during the attack: %d", r.status)
	r = h.post("/users/signin", "192.0.2.77", map[string]string{"login": owner, "password": password})
	t.Logf("the owner from a brand-new address during the attack: %d, Retry-After %s s", r.status, r.retryAfter)
	if day.crossed() == 1 {
		assert.Equal(t, 429, r.status)
		assert.NotEmpty(t, r.retryAfter)
	}

	// (b) A sign-up flood: 60 sign-ups at once from one address.
	var mu sync.Mutex
	var wg sync.WaitGroup
	signUps := map[int]int{}
	hour := windowOf(time.Hour)
	for i := range 60 {
		wg.Go(func() {
			r := h.post("/users/signup", "203.0.113.50", map[string]string{
				"name": "Flood", "login": testkit.Name(fmt.Sprintf("flood%d", i)), "password": "flood password 1"})
			if r.status == 429 {
				assert.NotEmpty(t, r.retryAfter)
			}
			mu.Lock()
			signUps[r.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("sign-up flood: 60 sign-ups from one address: %d created, %d refused (429)", signUps[200], signUps[429])
	assert.Equal(t, 60, signUps[200]+signUps[429], "%v", signUps)
	assert.LessOrEqual(t, signUps[200], guessSignUps*hour.crossed())
	assert.GreaterOrEqual(t, signUps[200], guessSignUps, "the quota lets its sign-ups through")
	assert.Equal(t, 200, h.post("/users/signup", "203.0.113.51", map[string]string{
		"name": "Neighbour", "login": testkit.Name("neighbour"), "password": "neighbour password"}).status,
		"another address signs up")

	// The operators' figures are not for a proxy's clients, even on the loopback address.
	req, err := http.NewRequest(http.MethodGet, s.urls["web"]+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := h.http.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the storefront's /metrics through a proxy")
}

// window is the fixed rate-limit window a test started in.
type window struct {
	length time.Duration
	start  time.Time
}

func windowOf(d time.Duration) window { return window{d, time.Now().Truncate(d)} }

// crossed is how many windows the test has seen (1, or 2 when one ended meanwhile, which lets
// a limit's count start over).
func (w window) crossed() int {
	if time.Now().Truncate(w.length).Equal(w.start) {
		return 1
	}
	return 2
}

type guesser struct {
	t    *testing.T
	url  string
	http *http.Client
}

type answer struct {
	status     int
	retryAfter string
}

// post sends body to auth as a request from address from, relayed by a trusted proxy.
func (g *guesser) post(path, from string, body any) answer {
	raw, err := json.Marshal(body)
	require.NoError(g.t, err)
	req, err := http.NewRequest(http.MethodPost, g.url+path, bytes.NewReader(raw))
	require.NoError(g.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", from)
	resp, err := g.http.Do(req)
	if !assert.NoError(g.t, err) {
		return answer{}
	}
	resp.Body.Close()
	return answer{resp.StatusCode, resp.Header.Get("Retry-After")}
}

type guessResult struct {
	checked, refused, other int
	took                    time.Duration
}

// guess sends n wrong passwords for login, parallel at a time, the i-th from from(i).
func (g *guesser) guess(login string, n, parallel int, from func(int) string) guessResult {
	var res guessResult
	var mu sync.Mutex
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range parallel {
		wg.Go(func() {
			for i := range next {
				r := g.post("/users/signin", from(i), map[string]string{"login": login, "password": "guess " + strconv.Itoa(i)})
				mu.Lock()
				switch r.status {
				case http.StatusUnauthorized:
					res.checked++
				case http.StatusTooManyRequests:
					res.refused++
					assert.NotEmpty(g.t, r.retryAfter)
				default:
					res.other++
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	res.took = time.Since(start)
	return res
}
