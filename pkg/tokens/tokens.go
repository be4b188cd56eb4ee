// Package tokens checks bearer tokens for every service but auth (SPEC §4 "Token cache"): it asks
// auth's GET /users/current, keeps the answer in a local cache for a bounded time, and drops a
// token at once when auth broadcasts its `logout`.
package tokens

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
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

// maxEntries bounds the cache; past it, the cache is emptied rather than grown.
const maxEntries = 100_000

type entry struct {
	user    User
	expires time.Time
}

// Checker checks tokens against auth, with a cache.
type Checker struct {
	authURL string
	client  *http.Client
	ttl     time.Duration

	mu      sync.Mutex
	entries map[string]entry
	calls   singleflight.Group
}

// NewChecker checks tokens with the auth service at authURL, caching answers for ttl.
func NewChecker(authURL string, ttl time.Duration) *Checker {
	return &Checker{
		authURL: strings.TrimRight(authURL, "/"),
		client:  &http.Client{Timeout: 5 * time.Second},
		ttl:     ttl,
		entries: map[string]entry{},
	}
}

// Check returns the user of token. A bad or revoked token is errs.Unauthorized; auth not
// answering is errs.Unavailable.
func (c *Checker) Check(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, fmt.Errorf("%w: missing bearer token", errs.Unauthorized)
	}
	if u, ok := c.cached(token); ok {
		return u, nil
	}
	// Concurrent first requests with one token make one call to auth.
	v, err, _ := c.calls.Do(token, func() (any, error) {
		u, err := c.askAuth(context.WithoutCancel(ctx), token)
		if err == nil {
			c.store(token, u)
		}
		return u, err
	})
	if err != nil {
		return User{}, err
	}
	return v.(User), nil
}

func (c *Checker) cached(token string) (User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[token]
	if !ok || time.Now().After(e.expires) {
		return User{}, false
	}
	return e.user, true
}

func (c *Checker) store(token string, u User) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxEntries {
		c.entries = map[string]entry{}
	}
	c.entries[token] = entry{user: u, expires: time.Now().Add(c.ttl)}
}

// Evict drops token from the cache.
func (c *Checker) Evict(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, token)
}

// Flush empties the cache.
func (c *Checker) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = map[string]entry{}
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
		return User{}, fmt.Errorf("%w: invalid token", errs.Unauthorized)
	default:
		return User{}, fmt.Errorf("%w: auth answered %d", errs.Unavailable, resp.StatusCode)
	}
	var u User
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&u); err != nil {
		return User{}, fmt.Errorf("%w: auth answer: %w", errs.Unavailable, err)
	}
	if !u.Enabled || u.ID == "" {
		return User{}, fmt.Errorf("%w: invalid token", errs.Unauthorized)
	}
	return u, nil
}

// ListenLogout evicts tokens as auth broadcasts their logout, until ctx is done. The cache is
// flushed whenever the consumer (re)starts, since broadcasts sent while it was away are lost.
func (c *Checker) ListenLogout(ctx context.Context, b bus.Bus) error {
	sub := bus.Subscription{Exchange: "auth", OnStart: c.Flush}
	return b.Consume(ctx, sub, func(ctx context.Context, d bus.Delivery) error {
		if d.Type != "logout" {
			return nil
		}
		var token string
		if err := d.Decode(&token); err != nil {
			return err
		}
		// Tolerate the course's old services, which sent "Bearer <jwt>".
		if scheme, rest, ok := strings.Cut(token, " "); ok && strings.EqualFold(scheme, "bearer") {
			token = strings.TrimSpace(rest)
		}
		c.Evict(token)
		return nil
	})
}
