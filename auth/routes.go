package auth

import (
	_ "embed"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// openAPI is the service's API document, served at /openapi.json: a copy of
// deploy/openapi/auth.json that TestOpenAPI keeps equal to it.
//
//go:generate cp ../deploy/openapi/auth.json openapi.json
//go:embed openapi.json
var openAPI []byte

// Deps is what the auth HTTP server needs.
type Deps struct {
	web.Basics
	Store  *Store
	Bus    bus.Publisher    // for the logout broadcasts
	Secret []byte           // JWT_SECRET, at least MinSecretBytes long
	Limits Limits           // sign-in and sign-up rate limits; zero fields take DefaultLimits
	Now    func() time.Time // the clock of the rate limits and sessions; time.Now when nil
	// TokenIdle is how long a session lasts unused (AUTH_TOKEN_IDLE); 0 = for ever.
	TokenIdle time.Duration
	// TrustedProxies are the addresses whose X-Forwarded-For header is believed when sign-in
	// is limited per client address (none by default).
	TrustedProxies []netip.Prefix
	// PasswordCost is the bcrypt cost of password hashes: DefaultPasswordCost when 0 (tests of
	// behaviour set bcrypt.MinCost).
	PasswordCost int
}

// NewServer returns the auth API of SPEC §3.1 with the operational endpoints and its docs.
func NewServer(d Deps) http.Handler {
	pw := newPasswords(d.PasswordCost)
	r := d.Router(openAPI)
	now := d.Now
	if now == nil {
		now = time.Now
	}
	sess := &sessions{store: d.Store, key: d.Secret, pub: d.Bus, idle: d.TokenIdle, now: now, trusted: d.TrustedProxies}
	addRoutes(r, d.Log, d.Store, pw, sess, newRateLimits(d.Limits, d.TrustedProxies, newLimitStore(d.Store, now), now))
	return r
}

// addRoutes lists the whole auth API.
func addRoutes(r chi.Router, log *slog.Logger, store *Store, pw passwords, sess *sessions, limits *rateLimits) {
	r.Method(http.MethodPost, "/users/signup", handleSignUp(log, store, pw, sess, limits))
	r.Method(http.MethodPost, "/users/signin", handleSignIn(log, store, pw, sess, limits))

	r.Group(func(r chi.Router) {
		r.Use(requireUser(log, sess, ""))
		r.Method(http.MethodGet, "/users/signout", handleSignOut(log, sess))
		r.Method(http.MethodGet, "/users/current", handleCurrentUser())
		r.Method(http.MethodPost, "/users/password", handleChangePassword(log, store, pw, sess))
		r.Method(http.MethodGet, "/users/sessions", handleSessions(log, sess))
		r.Method(http.MethodDelete, "/users/sessions", handleEndOtherSessions(log, sess))
		r.Method(http.MethodDelete, "/users/sessions/{sessionId}", handleEndSession(log, sess))
	})

	r.Group(func(r chi.Router) {
		r.Use(requireUser(log, sess, PermissionAdmin))
		r.Method(http.MethodGet, "/users/all", handleListUsers(log, store))
		r.Method(http.MethodPost, "/users/{userId}/enable", handleEnable(log, store, sess))
		r.Method(http.MethodPost, "/users/{userId}/disable", handleDisable(log, sess))
		r.Method(http.MethodPost, "/users/{userId}/grant", handleGrant(log, store, sess))
		r.Method(http.MethodPost, "/users/{userId}/revoke", handleRevoke(log, store, sess))
		r.Method(http.MethodPost, "/users/{userId}/signout", handleSignOutUser(log, store, sess))
	})
}
