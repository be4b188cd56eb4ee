package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
)

// Basics is what every service's HTTP server needs besides its own parts; a service's Deps
// embeds it.
type Basics struct {
	Log     *slog.Logger
	Metrics *metrics.Metrics
	Ready   map[string]ReadyCheck // what /readyz checks, by name
}

// Router returns the router of a service (NewRouter) that also serves openAPI, the service's
// API document, with its interactive page (AddDocs).
func (b Basics) Router(openAPI []byte) chi.Router {
	r := NewRouter(b.Log, b.Metrics, b.Ready)
	AddDocs(r, openAPI)
	return r
}

// NewRouter returns a chi router with the middleware every service uses and the operational
// endpoints /healthz, /readyz and /metrics. checks name what /readyz tries.
func NewRouter(log *slog.Logger, m *metrics.Metrics, checks map[string]ReadyCheck) chi.Router {
	r := chi.NewRouter()
	r.Use(LimitBodyTime(BodyIdleTimeout, BodyTimeout), Correlate, Recover(log), Observe(log, m), CORS, middleware.GetHead)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, log, errs.Newf(errs.NotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		Encode(w, http.StatusMethodNotAllowed, errorBody{Error: "method not allowed", Code: "method_not_allowed"})
	})
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		Encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", handleReady(checks))
	r.Method(http.MethodGet, "/metrics", m.Handler())
	return r
}

func handleReady(checks map[string]ReadyCheck) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		report := map[string]string{}
		status := http.StatusOK
		for name, check := range checks {
			if err := check(ctx); err != nil {
				report[name] = "down"
				if errors.Is(err, errs.Stuck) {
					report[name] = "stuck"
				}
				status = http.StatusServiceUnavailable
				continue
			}
			report[name] = "ok"
		}
		Encode(w, status, report)
	}
}
