package image

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// NewServer returns the image service's HTTP API. ready names what /readyz checks.
func NewServer(log *slog.Logger, m *metrics.Metrics, images *Images, checker *tokens.Checker,
	ready map[string]web.ReadyCheck) http.Handler {
	r := web.NewRouter(log, m, ready)
	addRoutes(r, log, images, checker)
	return r
}

// addRoutes is the whole API of the service (SPEC §3.2). Uploads need a signed-in user;
// downloads are public.
func addRoutes(r chi.Router, log *slog.Logger, images *Images, checker *tokens.Checker) {
	r.With(checker.RequireUser(log)).Method(http.MethodPost, "/images/create", handleCreate(log, images))
	r.Method(http.MethodGet, "/images/{id}", handleImage(log, images))
	r.Method(http.MethodGet, "/images/{id}/jpeg", handleJPEG(log, images))
}
