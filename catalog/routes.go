package catalog

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// NewServer returns the catalog's HTTP handler: the API below plus the operational endpoints,
// with ready naming what /readyz checks.
func NewServer(log *slog.Logger, m *metrics.Metrics, store *Store, auth *tokens.Checker, ready map[string]web.ReadyCheck) http.Handler {
	r := web.NewRouter(log, m, ready)
	addRoutes(r, log, store, auth)
	return r
}

// Listings and searches read many articles for anyone who asks: at most readSlots of them run
// at once, and a request that cannot start within readWait is answered 429 (see web.Shed).
const (
	readSlots = 4
	readWait  = 250 * time.Millisecond
)

// addRoutes is the whole REST API of the catalog (SPEC §3.3): reads are public, writes admin.
func addRoutes(r chi.Router, log *slog.Logger, store *Store, auth *tokens.Checker) {
	expensive := r.With(web.Shed(log, readSlots, readWait))
	expensive.Method("GET", "/articles", handleArticleList(log, store))
	expensive.Method("GET", "/articles/search/{criteria}", handleArticleSearch(log, store))
	r.Method("GET", "/articles/{id}", handleArticleGet(log, store))

	r.Group(func(r chi.Router) {
		r.Use(auth.RequireAdmin(log))
		r.Method("POST", "/articles", handleArticleCreate(log, store))
		r.Method("POST", "/articles/{id}", handleArticleUpdate(log, store))
		r.Method("DELETE", "/articles/{id}", handleArticleDelete(log, store))
	})
}
