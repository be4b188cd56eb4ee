package auth

import (
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Deps is what the auth HTTP server needs.
type Deps struct {
	Log     *slog.Logger
	Metrics *metrics.Metrics
	Store   *Store
	Bus     bus.Publisher // for the logout broadcasts
	Secret  []byte        // JWT_SECRET, at least MinSecretBytes long
	Limits  Limits        // sign-in and sign-up rate limits; zero fields take DefaultLimits
	// TrustedProxies are the addresses whose X-Forwarded-For header is believed when sign-in
	// is limited per client address (none by default).
	TrustedProxies []netip.Prefix
	Ready          map[string]web.ReadyCheck // what /readyz checks, by name
}

// NewServer returns the auth API of SPEC §3.1 with the operational endpoints.
func NewServer(d Deps) http.Handler {
	r := web.NewRouter(d.Log, d.Metrics, d.Ready)
	addRoutes(r, d.Log, d.Store, &sessions{store: d.Store, key: d.Secret, pub: d.Bus}, newRateLimits(d.Limits, d.TrustedProxies))
	return r
}

// addRoutes lists the whole auth API.
func addRoutes(r chi.Router, log *slog.Logger, store *Store, sess *sessions, limits *rateLimits) {
	r.Post("/users/signup", handleSignUp(log, store, sess, limits))
	r.Post("/users/signin", handleSignIn(log, store, sess, limits))

	r.Group(func(r chi.Router) {
		r.Use(requireUser(log, sess, ""))
		r.Get("/users/signout", handleSignOut(log, sess))
		r.Get("/users/current", handleCurrentUser())
		r.Post("/users/password", handleChangePassword(log, store, sess))
	})

	r.Group(func(r chi.Router) {
		r.Use(requireUser(log, sess, PermissionAdmin))
		r.Get("/users/all", handleListUsers(log, store))
		r.Post("/users/{userId}/enable", handleEnable(log, store))
		r.Post("/users/{userId}/disable", handleDisable(log, sess))
		r.Post("/users/{userId}/grant", handleGrant(log, store))
		r.Post("/users/{userId}/revoke", handleRevoke(log, store, sess))
	})
}
