package orders

import (
	_ "embed"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// openAPI is the service's API document, served at /openapi.json: a copy of
// deploy/openapi/orders.json that TestOpenAPI keeps equal to it.
//
//go:generate cp ../deploy/openapi/orders.json openapi.json
//go:embed openapi.json
var openAPI []byte

// Deps is what the orders HTTP server needs.
type Deps struct {
	web.Basics
	Tokens  *tokens.Checker
	Service *Service
}

// NewServer returns the orders REST API (SPEC §3.5) with the operational endpoints and its docs.
func NewServer(d Deps) http.Handler {
	r := d.Router(openAPI)
	addRoutes(r, d.Log, d.Tokens, d.Service)
	return r
}

func addRoutes(r chi.Router, log *slog.Logger, checker *tokens.Checker, svc *Service) {
	r.Group(func(r chi.Router) {
		r.Use(checker.RequireUser(log))
		r.Method(http.MethodGet, "/orders", handleListOrders(svc, log))
		r.Method(http.MethodGet, "/orders/{orderId}", handleOrder(svc, log, svc.GetFor))
		r.Method(http.MethodGet, "/orders/{orderId}/update", handleOrder(svc, log, svc.RebuildFor))
		r.Method(http.MethodPost, "/orders/{orderId}/payment", handlePayment(svc, log))
		r.Method(http.MethodPost, "/orders/{orderId}/cancel", handleCancel(svc, log))
	})
	r.Group(func(r chi.Router) {
		r.Use(checker.RequireAdmin(log))
		r.Method(http.MethodGet, "/orders/status", handleStatusList(svc, log))
		r.Method(http.MethodPost, "/orders/{orderId}/ship", handleShip(svc, log))
		r.Method(http.MethodPost, "/orders/{orderId}/deliver", handleDeliver(svc, log))
	})
}
