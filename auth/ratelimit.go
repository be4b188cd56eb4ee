package auth

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Limits are the sign-in rate limits: at most PerLogin attempts per login and PerAddress per
// client address in each Window. Zero fields take the defaults.
type Limits struct {
	PerLogin   int
	PerAddress int
	Window     time.Duration
}

// DefaultLimits slow password guessing down to a crawl without bothering a person who mistypes.
var DefaultLimits = Limits{PerLogin: 10, PerAddress: 30, Window: time.Minute}

func (l Limits) withDefaults() Limits {
	if l.PerLogin <= 0 {
		l.PerLogin = DefaultLimits.PerLogin
	}
	if l.PerAddress <= 0 {
		l.PerAddress = DefaultLimits.PerAddress
	}
	if l.Window <= 0 {
		l.Window = DefaultLimits.Window
	}
	return l
}

// signInLimits holds the two sign-in rate limiters of a server.
type signInLimits struct {
	window    time.Duration
	byLogin   *rateLimiter
	byAddress *rateLimiter
	trusted   []netip.Prefix
}

func newSignInLimits(l Limits, trustedProxies []netip.Prefix) *signInLimits {
	l = l.withDefaults()
	return &signInLimits{window: l.Window, trusted: trustedProxies,
		byLogin: newRateLimiter(l.PerLogin, l.Window), byAddress: newRateLimiter(l.PerAddress, l.Window)}
}

// allow counts an attempt on login from r's client address against both limits (against both
// even when the first refuses it) and tells whether both allow it.
func (s *signInLimits) allow(r *http.Request, login string) bool {
	now := time.Now()
	addrOK := s.byAddress.allow(clientAddress(r, s.trusted), now)
	loginOK := s.byLogin.allow(loginKey(login), now)
	return addrOK && loginOK
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
