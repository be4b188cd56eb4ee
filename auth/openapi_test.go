package auth_test

import (
	"log/slog"
	"testing"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// TestOpenAPI fails when a route is served but not documented in deploy/openapi/auth.json, or
// documented but not served, and when the served document is not that file. Building the router touches no store: the handlers only close
// over their dependencies.
func TestOpenAPI(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	h := auth.NewServer(auth.Deps{Basics: web.Basics{Log: log, Metrics: metrics.New("auth")}, Secret: make([]byte, auth.MinSecretBytes)})
	testkit.CheckOpenAPI(t, h, "../deploy/openapi/auth.json")
}
