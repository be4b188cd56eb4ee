package orders

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// NewServer returns the orders REST API (SPEC §3.5) with the operational endpoints.
func NewServer(log *slog.Logger, m *metrics.Metrics, ready map[string]web.ReadyCheck, checker *tokens.Checker, svc *Service) http.Handler {
	r := web.NewRouter(log, m, ready)
	addRoutes(r, log, checker, svc)
	return r
}

func addRoutes(r chi.Router, log *slog.Logger, checker *tokens.Checker, svc *Service) {
	user := checker.RequireUser(log)
	admin := checker.RequireAdmin(log)

	r.With(user).Method(http.MethodGet, "/orders", handleListOrders(svc, log))
	r.With(admin).Method(http.MethodGet, "/orders/status", handleStatusList(svc, log))
	r.With(user).Method(http.MethodGet, "/orders/{orderId}", handleOrder(log, svc.GetFor))
	r.With(user).Method(http.MethodGet, "/orders/{orderId}/update", handleOrder(log, svc.RebuildFor))
	r.With(user).Method(http.MethodPost, "/orders/{orderId}/payment", handlePayment(svc, log))
}
