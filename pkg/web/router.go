package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
)

// NewRouter returns a chi router with the middleware every service uses and the operational
// endpoints /healthz, /readyz and /metrics. checks name what /readyz tries.
func NewRouter(log *slog.Logger, m *metrics.Metrics, checks map[string]ReadyCheck) chi.Router {
	r := chi.NewRouter()
	r.Use(LimitBodyTime(BodyIdleTimeout, BodyTimeout), Correlate, Recover(log), Observe(log, m), CORS, middleware.GetHead)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, log, fmt.Errorf("no route %s %s: %w", r.Method, r.URL.Path, errs.NotFound))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		Encode(w, http.StatusMethodNotAllowed, errorBody{Error: "method not allowed"})
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
				status = http.StatusServiceUnavailable
				continue
			}
			report[name] = "ok"
		}
		Encode(w, status, report)
	}
}
