package catalog

import (
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// openAPI is the service's API document, served at /openapi.json: a copy of
// deploy/openapi/catalog.json that TestOpenAPI keeps equal to it.
//
//go:generate cp ../deploy/openapi/catalog.json openapi.json
//go:embed openapi.json
var openAPI []byte

// Deps is what the catalog HTTP server needs.
type Deps struct {
	web.Basics
	Tokens *tokens.Checker
	Store  *Store       // writes
	View   *articleView // reads (see articleView)
}

// NewServer returns the catalog's HTTP API with the operational endpoints and its docs.
func NewServer(d Deps) http.Handler {
	r := d.Router(openAPI)
	addRoutes(r, d.Log, d.Store, d.View, d.Tokens)
	return r
}

// Listings and searches read many articles for anyone who asks: at most readSlots of them run
// at once, and a request that cannot start within readWait is answered 429 (see web.Shed).
const (
	readSlots = 4
	readWait  = 250 * time.Millisecond
)

// addRoutes is the whole REST API of the catalog (SPEC §3.3): reads are public, writes admin.
func addRoutes(r chi.Router, log *slog.Logger, store *Store, view *articleView, auth *tokens.Checker) {
	expensive := r.With(web.Shed(log, readSlots, readWait))
	expensive.Method(http.MethodGet, "/articles", handleArticleList(log, view, auth))
	expensive.Method(http.MethodGet, "/articles/search/{criteria}", handleArticleSearch(log, view))
	r.Method(http.MethodGet, "/articles/{id}", handleArticleGet(log, view, store))

	r.Group(func(r chi.Router) {
		r.Use(auth.RequireAdmin(log))
		r.Method(http.MethodPost, "/articles", handleArticleCreate(log, store))
		r.Method(http.MethodPost, "/articles/{id}", handleArticleUpdate(log, store))
		r.Method(http.MethodDelete, "/articles/{id}", handleArticleDelete(log, store))
	})
}
