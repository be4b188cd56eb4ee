package auth

import (
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
