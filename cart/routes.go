package cart

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// NewServer returns the cart service's HTTP API (SPEC §3.4); every route needs a signed-in user.
func NewServer(log *slog.Logger, m *metrics.Metrics, checks map[string]web.ReadyCheck,
	checker *tokens.Checker, svc *Service) http.Handler {
	r := web.NewRouter(log, m, checks)
	addRoutes(r, log, checker, svc)
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
