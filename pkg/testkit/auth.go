package testkit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Auth is a stand-in for the auth service's GET /users/current, for testing a service's own
// handlers without starting auth. (The end-to-end tests use the real auth service.)
type Auth struct {
	URL   string
	mu    sync.Mutex
	users map[string]tokens.User
	calls int
}

// NewAuth starts an Auth, stopped when the test ends.
func NewAuth(t testing.TB) *Auth {
	a := &Auth{users: map[string]tokens.User{}}
	srv := httptest.NewServer(http.HandlerFunc(a.serveCurrent))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// Add makes token belong to a new enabled user with id and permissions, and returns it.
func (a *Auth) Add(token, id string, permissions ...string) tokens.User {
	if len(permissions) == 0 {
		permissions = []string{"user"}
	}
	u := tokens.User{ID: id, Name: "User " + id, Login: id, Permissions: permissions, Enabled: true}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[token] = u
	return u
}

// Revoke makes token invalid from now on.
func (a *Auth) Revoke(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.users, token)
}

// Calls counts the /users/current requests served.
func (a *Auth) Calls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

func (a *Auth) serveCurrent(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/users/current" {
		http.NotFound(w, r)
		return
	}
	a.mu.Lock()
	a.calls++
	u, ok := a.users[web.BearerToken(r)]
	a.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid token", "code": "unauthorized"})
		return
	}
	_ = json.NewEncoder(w).Encode(u)
}
