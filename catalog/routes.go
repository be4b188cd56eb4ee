package catalog

import (
	"log/slog"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/tokens"
)

// addRoutes is the whole REST API of the catalog (SPEC §3.3): reads are public, writes admin.
func addRoutes(r chi.Router, log *slog.Logger, store *Store, auth *tokens.Checker) {
	r.Method("GET", "/articles", handleArticleList(log, store))
	r.Method("GET", "/articles/search/{criteria}", handleArticleSearch(log, store))
	r.Method("GET", "/articles/{id}", handleArticleGet(log, store))

	r.Group(func(r chi.Router) {
		r.Use(auth.RequireAdmin(log))
		r.Method("POST", "/articles", handleArticleCreate(log, store))
		r.Method("POST", "/articles/{id}", handleArticleUpdate(log, store))
		r.Method("DELETE", "/articles/{id}", handleArticleDelete(log, store))
	})
}
