package cart_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/ecommerce-go/ecommerce/cart"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// TestOpenAPI fails when a route is served but not documented in deploy/openapi/cart.json, or
// documented but not served, and when the served document is not that file. Building the router
// touches no store: the handlers only close over their dependencies.
func TestOpenAPI(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	h := cart.NewServer(cart.Deps{Basics: web.Basics{Log: log, Metrics: metrics.New("cart")}, Tokens: tokens.NewChecker("http://127.0.0.1:1", time.Minute)})
	testkit.CheckOpenAPI(t, h, "../deploy/openapi/cart.json")
}
