// Tests of the unexported parts: rate limiting, client addresses, the production hash cost.
package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"golang.org/x/crypto/bcrypt"

	"github.com/ecommerce-go/ecommerce/pkg/quota"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

func TestAddressKey(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"::1", "::/64"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, addressKey(netip.MustParseAddr(tc.addr).Unmap()), tc.addr)
	}
	assert.Equal(t, "unknown", addressKey(netip.Addr{}))
}

// The real cost (the tests of behaviour run at a lower one, through Deps.PasswordCost), and the
// unknown-login comparison at the same cost as the hashes.
func TestPasswordCost(t *testing.T) {
	for _, tc := range []struct{ asked, want int }{{0, 10}, {10, 10}, {bcrypt.MinCost, bcrypt.MinCost}, {1, bcrypt.MinCost}} {
		p := newPasswords(tc.asked)
		assert.Equal(t, tc.want, p.cost, tc.asked)
		cost, err := bcrypt.Cost(p.dummy)
		assert.NoError(t, err)
		assert.Equal(t, tc.want, cost, tc.asked)
		hash, err := p.hash("a password")
		assert.NoError(t, err)
		cost, err = bcrypt.Cost(hash)
		assert.NoError(t, err)
		assert.Equal(t, tc.want, cost, tc.asked)
		assert.True(t, p.matches(hash, "a password"))
	}
	cfg, err := LoadConfig(func(string) string { return "" })
	assert.NoError(t, err)
	assert.Equal(t, 10, cfg.PasswordCost)
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
		{"IPv6 client", "[2001:db8::7]:5000", "", "2001:db8::7"},
		{"no address", "@", "", "invalid IP"},
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
			assert.Equal(t, tc.want, clientAddress(r, trusted).String())
		})
	}
	_, err = parsePrefixes("10.0.0.0/33")
	assert.Error(t, err)
}

// The cleanup deletes the slots of finished windows and the familiar addresses past their time,
// nothing else; the background job runs it until its context ends.
func TestLimitsCleanUp(t *testing.T) {
	ctx := context.Background()
	store, err := NewStore(ctx, testkit.Mongo(t))
	require.NoError(t, err)
	now := time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
	clock := testkit.NewClock(now)
	s := newLimitStore(store, clock.Now)
	perMinute := quota.Limit{Name: "test", Max: 3, Per: time.Minute}
	for range 3 {
		_, refused, err := s.take(ctx, perMinute, "key")
		require.NoError(t, err)
		require.Nil(t, refused)
	}
	_, refused, err := s.take(ctx, perMinute, "key")
	require.NoError(t, err)
	require.NotNil(t, refused, "full")
	assert.Equal(t, 50*time.Second, refused.retryAfter)
	require.NoError(t, s.remember(ctx, "login", "192.0.2.1", now, time.Hour))

	clock.Set(now.Add(49 * time.Second))
	n, err := s.cleanUp(ctx, clock.Now())
	require.NoError(t, err)
	assert.Zero(t, n, "the window is still open")
	clock.Set(now.Add(50*time.Second + 2*time.Minute)) // ended, and past the grace of a clock running behind
	n, err = s.cleanUp(ctx, clock.Now())
	require.NoError(t, err)
	assert.Equal(t, 3, n, "the window ended")
	familiar, err := s.familiar(ctx, "login", "192.0.2.1", clock.Now())
	require.NoError(t, err)
	assert.True(t, familiar, "kept for its hour")

	jobCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	later := func() time.Time { return now.Add(2 * time.Hour) }
	go func() { done <- limitsCleaner(store, testkit.Logger(t), later, 10*time.Millisecond)(jobCtx) }()
	testkit.Eventually(t, 10*time.Second, func() bool {
		n, err := store.users.Database().Collection("familiarAddresses").CountDocuments(ctx, bson.D{})
		return err == nil && n == 0
	}, "the job deletes the familiar address past its time")
	stop()
	require.NoError(t, <-done)
}
