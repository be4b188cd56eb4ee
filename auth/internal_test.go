// Tests of the unexported parts: rate limiting, client addresses, the production hash cost.
package auth

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestRateLimiter(t *testing.T) {
	l := newRateLimiter(2, time.Minute)
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

	assert.True(t, l.allow("a", start))
	assert.True(t, l.allow("a", start.Add(time.Second)))
	assert.False(t, l.allow("a", start.Add(2*time.Second)), "third attempt in the window")
	assert.True(t, l.allow("b", start.Add(2*time.Second)), "keys are counted apart")
	assert.True(t, l.allow("a", start.Add(time.Minute)), "a new window starts afresh")
}

func TestRateLimiterIsBounded(t *testing.T) {
	l := newRateLimiter(1, time.Minute)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := range maxRateKeys {
		l.allow(strconv.Itoa(i), now)
	}
	assert.Len(t, l.counts, maxRateKeys)

	// Full of live windows: forgetting all beats growing without bound.
	l.allow("one more", now)
	assert.Len(t, l.counts, 1)

	// Full of finished windows: only those are forgotten.
	for i := range maxRateKeys - 1 {
		l.allow(strconv.Itoa(i), now)
	}
	later := now.Add(30 * time.Second)
	l.allow("late", later)
	l.allow("later", now.Add(time.Minute))
	assert.Len(t, l.counts, 2, "the windows of %s had finished", now)
	assert.False(t, l.allow("late", later), "a live window is kept")
}

// The real cost (the tests run at a lower one, see export_test.go).
func TestProductionPasswordCost(t *testing.T) {
	cost, err := bcrypt.Cost([]byte(dummyHashCost10))
	assert.NoError(t, err)
	assert.Equal(t, 10, cost)
}

func TestClientAddress(t *testing.T) {
	trusted, err := parsePrefixes("127.0.0.1, 10.0.0.0/8 ,::1")
	require.NoError(t, err)
	tests := []struct {
		name, remote, forwarded, want string
	}{
		{"direct client", "203.0.113.7:5000", "", "203.0.113.7"},
		{"untrusted peer's header is ignored", "203.0.113.7:5000", "198.51.100.1", "203.0.113.7"},
		{"through a trusted proxy", "127.0.0.1:5000", "198.51.100.1", "198.51.100.1"},
		{"through two trusted proxies", "127.0.0.1:5000", "198.51.100.1, 10.1.2.3", "198.51.100.1"},
		{"spoofed hop before an untrusted one", "127.0.0.1:5000", "1.1.1.1, 198.51.100.1", "198.51.100.1"},
		{"trusted proxy without header", "10.0.0.5:5000", "", "10.0.0.5"},
		{"malformed hop", "127.0.0.1:5000", "not-an-ip", "127.0.0.1"},
		{"IPv6 proxy", "[::1]:5000", "2001:db8::1", "2001:db8::1"},
		{"IPv4 in IPv6", "[::ffff:127.0.0.1]:5000", "198.51.100.9", "198.51.100.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/users/signin", nil)
			r.RemoteAddr = tc.remote
			if tc.forwarded != "" {
				r.Header.Set("X-Forwarded-For", tc.forwarded)
			}
			assert.Equal(t, tc.want, clientAddress(r, trusted))
		})
	}
	_, err = parsePrefixes("10.0.0.0/33")
	assert.Error(t, err)
}
