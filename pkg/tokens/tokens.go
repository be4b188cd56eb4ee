// Package tokens checks bearer tokens for every service but auth (SPEC §4 "Token cache"): it asks
// auth's GET /users/current, keeps the answer in a local cache for a bounded time, and drops a
// token at once when auth broadcasts its `logout`, and every token of a user when auth broadcasts
// `user-changed` for that user.
package tokens

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/sync/singleflight"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// User is the signed-in user a token belongs to, as auth describes it.
type User struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Login       string   `json:"login"`
	Permissions []string `json:"permissions"`
	Enabled     bool     `json:"enabled"`
}

// Has tells whether the user holds permission.
func (u User) Has(permission string) bool { return slices.Contains(u.Permissions, permission) }

// IsAdmin tells whether the user holds the "admin" permission.
func (u User) IsAdmin() bool { return u.Has("admin") }

// maxEntries bounds the cache: past it, the least recently used token is dropped.
const maxEntries = 100_000

// Checker checks tokens against auth, with a cache.
//
// The token cache is kept current by auth's broadcasts (ListenLogout evicts each revoked token
// at once, and every token of a user whose permissions or enabled state changed) and by
// expiry: an entry is at most ttl old. A broadcast sent while this
// service cannot hear them is lost, so the cache is trusted only while the logout
// subscription is up: when it is lost the cache is flushed and every check asks auth until the
// subscription is back (and flushed again then). So a revoked token is never trusted for
// longer than it takes a broadcast to arrive.
type Checker struct {
	authURL string
	client  *http.Client

	cache *expirable.LRU[string, User]
	calls singleflight.Group

	// state is the subscription's epoch (how many times it came up or went down) times two,
	// plus one while it is up: read without a lock on every check. An answer asked for in one
	// epoch is cached only in that same epoch; mu orders those writes with the changes.
	state atomic.Uint64
	// evictions counts the logouts heard. An answer asked for before a logout arrived may
	// predate the revocation (auth said "valid" just before), so it is cached only if no
	// logout came in meanwhile; mu orders that check with Evict.
	evictions atomic.Uint64
	mu        sync.Mutex
}

// NewChecker checks tokens with the auth service at authURL, caching answers for ttl while it
// hears logouts (see ListenLogout).
func NewChecker(authURL string, ttl time.Duration) *Checker {
	return &Checker{
		authURL: strings.TrimRight(authURL, "/"),
		client:  &http.Client{Timeout: 5 * time.Second},
		cache:   expirable.NewLRU[string, User](maxEntries, nil, ttl),
	}
}

// Check returns the user of token. A bad or revoked token is errs.Unauthorized; auth not
// answering is errs.Unavailable.
func (c *Checker) Check(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, errs.Newf(errs.Unauthorized, "missing bearer token")
	}
	state := c.state.Load()
	if listening(state) {
		if u, ok := c.cache.Get(token); ok {
			return u, nil
		}
	}
	// Concurrent first requests with one token make one call to auth.
	v, err, _ := c.calls.Do(token, func() (any, error) {
		evictions := c.evictions.Load()
		u, err := c.askAuth(context.WithoutCancel(ctx), token)
		if err == nil {
			c.store(token, u, state, evictions)
		}
		return u, err
	})
	if err != nil {
		return User{}, err
	}
	return v.(User), nil
}

// listening tells whether state is one of a subscription that is up.
func listening(state uint64) bool { return state%2 == 1 }

// store caches u for token, unless the subscription is down or changed since state, or a
// logout was heard since there were evictions (the answer may be older than that logout).
func (c *Checker) store(token string, u User, state, evictions uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if listening(state) && c.state.Load() == state && c.evictions.Load() == evictions {
		c.cache.Add(token, u)
	}
}

// Evict drops token from the cache, and keeps answers already on their way from auth out of it.
func (c *Checker) Evict(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cache.Remove(token)
	c.evictions.Add(1)
}

// EvictUser drops every cached token of the user of userID (its permissions or enabled state
// changed), and keeps answers already on their way from auth out of the cache, as Evict does.
// It walks the whole cache: user changes are an admin's rare acts, and the walk of a full
// cache (maxEntries) takes a few milliseconds, cheaper than keeping a second index per user.
func (c *Checker) EvictUser(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, token := range c.cache.Keys() {
		if u, ok := c.cache.Peek(token); ok && u.ID == userID {
			c.cache.Remove(token)
		}
	}
	c.evictions.Add(1)
}

// setListening records that the logout subscription came up or went down, and flushes the
// cache either way: broadcasts sent while it was down are lost.
func (c *Checker) setListening(up bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := (c.state.Load()/2 + 1) * 2
	if up {
		next++
	}
	c.state.Store(next)
	c.cache.Purge()
}

// Listening tells whether the logout subscription is up, i.e. whether the cache is in use.
func (c *Checker) Listening() bool { return listening(c.state.Load()) }

// Ready is a readiness check (for /readyz): it fails while the logout subscription is down,
// when every token check costs a call to auth.
func (c *Checker) Ready(context.Context) error {
	if !c.Listening() {
		return fmt.Errorf("%w: not subscribed to logout broadcasts", errs.Unavailable)
	}
	return nil
}

func (c *Checker) askAuth(ctx context.Context, token string) (User, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.authURL+"/users/current", nil)
	if err != nil {
		return User{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.client.Do(req)
	if err != nil {
		return User{}, fmt.Errorf("%w: auth: %w", errs.Unavailable, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return User{}, errs.Newf(errs.Unauthorized, "invalid token")
	default:
		return User{}, fmt.Errorf("%w: auth answered %d", errs.Unavailable, resp.StatusCode)
	}
	var u User
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&u); err != nil {
		return User{}, fmt.Errorf("%w: auth answer: %w", errs.Unavailable, err)
	}
	if !u.Enabled || u.ID == "" {
		return User{}, errs.Newf(errs.Unauthorized, "invalid token")
	}
	return u, nil
}

// ListenLogout evicts tokens as auth broadcasts their logout, and a user's tokens as auth
// broadcasts user-changed for them, until ctx is done. While the
// subscription is down (before it starts, while the broker is away) the cache is bypassed.
// It returns nil once ctx is done, or the error that stops the subscription for good.
func (c *Checker) ListenLogout(ctx context.Context, b bus.Bus) error {
	sub := bus.Subscription{
		Exchange: contract.ExchangeAuth,
		OnStart:  func() { c.setListening(true) },
		OnStop:   func() { c.setListening(false) },
	}
	return b.Consume(ctx, sub, func(ctx context.Context, d bus.Delivery) error {
		switch d.Type {
		case contract.TypeLogout:
			var token contract.Logout
			if err := d.Decode(&token); err != nil {
				return err
			}
			c.Evict(bearerless(string(token)))
		case contract.TypeUserChanged:
			var changed contract.UserChanged
			if err := d.Decode(&changed); err != nil {
				return err
			}
			c.EvictUser(changed.UserID)
		}
		return nil
	})
}

// LogoutListener is ListenLogout on b as a worker of the service (see app.Serve).
func (c *Checker) LogoutListener(b bus.Bus) func(context.Context) error {
	return func(ctx context.Context) error { return c.ListenLogout(ctx, b) }
}

// bearerless tolerates the course's old services, which sent "Bearer <jwt>".
func bearerless(token string) string {
	if scheme, rest, ok := strings.Cut(token, " "); ok && strings.EqualFold(scheme, "bearer") {
		return strings.TrimSpace(rest)
	}
	return token
}
