package catalog

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// NewServer returns the catalog's HTTP handler: the API below plus the operational endpoints,
// with ready naming what /readyz checks. Reads are answered from view, writes go to store.
func NewServer(log *slog.Logger, m *metrics.Metrics, store *Store, view *articleView, auth *tokens.Checker, ready map[string]web.ReadyCheck) http.Handler {
	r := web.NewRouter(log, m, ready)
	addRoutes(r, log, store, view, auth)
	return r
}

// addRoutes is the whole REST API of the catalog (SPEC §3.3): reads are public, writes admin.
func addRoutes(r chi.Router, log *slog.Logger, store *Store, view *articleView, auth *tokens.Checker) {
	r.Method("GET", "/articles", handleArticleList(log, view))
	r.Method("GET", "/articles/search/{criteria}", handleArticleSearch(log, view))
	r.Method("GET", "/articles/{id}", handleArticleGet(log, view, store))

	r.Group(func(r chi.Router) {
		r.Use(auth.RequireAdmin(log))
		r.Method("POST", "/articles", handleArticleCreate(log, store))
		r.Method("POST", "/articles/{id}", handleArticleUpdate(log, store))
		r.Method("DELETE", "/articles/{id}", handleArticleDelete(log, store))
	})
}
