package auth

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Limits are the rate limits of sign-in and sign-up, counted in fixed windows of Window per
// client address. Zero fields take the defaults.
//
//   - PerAddress: sign-in attempts from one address, on any logins.
//   - PerLogin: failed sign-ins from one address on one login. Only that pair is refused past
//     it, so a stranger guessing a login cannot lock its owner out: the right password from
//     another address still signs in. Once a login has PerLogin failures from anywhere in the
//     window, every attempt on it waits SlowDown first, which keeps guessing from many
//     addresses slow too.
//   - TakenLogins: sign-ups from one address refused because the login was taken. Past it,
//     every sign-up from that address is refused (not only those of taken logins, which would
//     still tell them apart), so logins cannot be enumerated through sign-up.
type Limits struct {
	PerLogin    int
	PerAddress  int
	TakenLogins int
	SlowDown    time.Duration
	Window      time.Duration
}

// DefaultLimits slow password guessing down to a crawl without bothering a person who mistypes.
var DefaultLimits = Limits{PerLogin: 10, PerAddress: 30, TakenLogins: 10, SlowDown: time.Second, Window: time.Minute}

func (l Limits) withDefaults() Limits {
	if l.PerLogin <= 0 {
		l.PerLogin = DefaultLimits.PerLogin
	}
	if l.PerAddress <= 0 {
		l.PerAddress = DefaultLimits.PerAddress
	}
	if l.TakenLogins <= 0 {
		l.TakenLogins = DefaultLimits.TakenLogins
	}
	if l.SlowDown <= 0 {
		l.SlowDown = DefaultLimits.SlowDown
	}
	if l.Window <= 0 {
		l.Window = DefaultLimits.Window
	}
	return l
}

// rateLimits holds the rate limiters of a server.
type rateLimits struct {
	window   time.Duration
	slowDown time.Duration
	trusted  []netip.Prefix

	byAddress   *rateLimiter // sign-in attempts per address
	byPair      *rateLimiter // failed sign-ins per address and login
	byLogin     *rateLimiter // failed sign-ins per login, from any address
	takenLogins *rateLimiter // sign-ups refused for a taken login, per address
}

func newRateLimits(l Limits, trustedProxies []netip.Prefix) *rateLimits {
	l = l.withDefaults()
	return &rateLimits{window: l.Window, slowDown: l.SlowDown, trusted: trustedProxies,
		byAddress:   newRateLimiter(l.PerAddress, l.Window),
		byPair:      newRateLimiter(l.PerLogin, l.Window),
		byLogin:     newRateLimiter(l.PerLogin, l.Window),
		takenLogins: newRateLimiter(l.TakenLogins, l.Window)}
}

// signIn is one sign-in attempt as the rate limits see it.
type signIn struct {
	limits *rateLimits
	pair   string // address and login key
	login  string // login key
}

// startSignIn counts an attempt on login from r's client address and tells whether it may go
// on. The attempt counts as a failure of its pair until succeeded says otherwise, so that
// parallel guesses cannot all slip in before the first one is judged.
func (l *rateLimits) startSignIn(r *http.Request, login string) (signIn, bool) {
	now := time.Now()
	addr := clientAddress(r, l.trusted)
	a := signIn{limits: l, pair: addr + " " + loginKey(login), login: loginKey(login)}
	addrOK := l.byAddress.allow(addr, now)
	pairOK := l.byPair.allow(a.pair, now)
	return a, addrOK && pairOK
}

// underAttack tells whether the attempt's login has had too many failures lately, from anywhere.
func (a signIn) underAttack() bool { return a.limits.byLogin.over(a.login, time.Now()) }

// failed records a wrong password.
func (a signIn) failed() { a.limits.byLogin.allow(a.login, time.Now()) }

// succeeded forgives the attempt: the pair's count starts over.
func (a signIn) succeeded() { a.limits.byPair.forget(a.pair) }

// signUpBlocked tells whether r's address has had too many sign-ups refused for a taken login.
func (l *rateLimits) signUpBlocked(r *http.Request) bool {
	return l.takenLogins.over(clientAddress(r, l.trusted), time.Now())
}

// loginTaken records a sign-up refused because its login was taken.
func (l *rateLimits) loginTaken(r *http.Request) {
	l.takenLogins.allow(clientAddress(r, l.trusted), time.Now())
}

// clientAddress is the address a request came from. X-Forwarded-For is believed only as far as
// it was written by trusted proxies (such as the web storefront, which signs people in from its
// own address): anyone else could write it and pick a fresh address for every attempt.
func clientAddress(r *http.Request, trusted []netip.Prefix) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	client := peer.Addr().Unmap()
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	// Walk back from the nearest hop while each one was added by a trusted proxy.
	for i := len(hops) - 1; i >= 0 && isTrusted(client, trusted); i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = hop.Unmap()
	}
	return client.String()
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// maxRateKeys bounds the memory of a rateLimiter.
const maxRateKeys = 100_000

// rateLimiter counts attempts per key in fixed windows. It lives in one process: with several
// auth instances each enforces its own count, which still bounds guessing.
type rateLimiter struct {
	limit  int
	window time.Duration

	mu     sync.Mutex
	counts map[string]*attempts
}

type attempts struct {
	start time.Time
	n     int
}

func newRateLimiter(limit int, window time.Duration) *rateLimiter {
	return &rateLimiter{limit: limit, window: window, counts: map[string]*attempts{}}
}

// allow counts one attempt for key and tells whether it is within the limit.
func (l *rateLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.counts[key]
	if !ok || now.Sub(a.start) >= l.window {
		if !ok && len(l.counts) >= maxRateKeys {
			l.forgetExpired(now)
		}
		a = &attempts{start: now}
		l.counts[key] = a
	}
	a.n++
	return a.n <= l.limit
}

// over tells, without counting, whether key has used up its attempts of the current window.
func (l *rateLimiter) over(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.counts[key]
	return ok && now.Sub(a.start) < l.window && a.n >= l.limit
}

// forget drops key's count.
func (l *rateLimiter) forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.counts, key)
}

// forgetExpired drops finished windows; if a flood of distinct keys left none finished, it
// forgets everything rather than grow without bound.
func (l *rateLimiter) forgetExpired(now time.Time) {
	for k, a := range l.counts {
		if now.Sub(a.start) >= l.window {
			delete(l.counts, k)
		}
	}
	if len(l.counts) >= maxRateKeys {
		clear(l.counts)
	}
}
