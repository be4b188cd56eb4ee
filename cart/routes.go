package cart

import (
	_ "embed"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// openAPI is the service's API document, served at /openapi.json: a copy of
// deploy/openapi/cart.json that TestOpenAPI keeps equal to it.
//
//go:generate cp ../deploy/openapi/cart.json openapi.json
//go:embed openapi.json
var openAPI []byte

// Deps is what the cart HTTP server needs.
type Deps struct {
	web.Basics
	Tokens  *tokens.Checker
	Service *Service
}

// NewServer returns the cart service's HTTP API (SPEC §3.4) with the operational endpoints and
// its docs; every API route needs a signed-in user.
func NewServer(d Deps) http.Handler {
	r := d.Router(openAPI)
	addRoutes(r, d.Log, d.Tokens, d.Service)
	return r
}

func addRoutes(r chi.Router, log *slog.Logger, checker *tokens.Checker, svc *Service) {
	r.Group(func(r chi.Router) {
		r.Use(checker.RequireUser(log))
		r.Method(http.MethodGet, "/cart", handleCartGet(log, svc))
		r.Method(http.MethodPost, "/cart/article", handleArticleAdd(log, svc))
		r.Method(http.MethodPost, "/cart/article/{articleId}/increment", handleArticleChange(log, svc, +1))
		r.Method(http.MethodPost, "/cart/article/{articleId}/decrement", handleArticleChange(log, svc, -1))
		r.Method(http.MethodDelete, "/cart/article/{articleId}", handleArticleRemove(log, svc))
		r.Method(http.MethodGet, "/cart/validate", handleCartValidate(log, svc))
		r.Method(http.MethodPost, "/cart/checkout", handleCheckout(log, svc))
	})
}
