package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
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
	// MetricsAllow are the peers /metrics answers (METRICS_ALLOW); nil means
	// DefaultMetricsAllow. See metricsOnlyFrom.
	MetricsAllow []netip.Prefix
}

// Router returns the router of a service (NewRouter) that also serves openAPI, the service's
// API document, with its interactive page (AddDocs).
func (b Basics) Router(openAPI []byte) chi.Router {
	r := b.NewRouter()
	AddDocs(r, openAPI)
	return r
}

// NewRouter returns the router of NewRouter, its /metrics open to b.MetricsAllow.
func (b Basics) NewRouter() chi.Router {
	return newRouter(b.Log, b.Metrics, b.Ready, b.MetricsAllow, true)
}

// NewSiteRouter returns the router of NewRouter without CORS: for a site of pages served to
// browsers on its own origin, which no other origin has any business reading.
func (b Basics) NewSiteRouter() chi.Router {
	return newRouter(b.Log, b.Metrics, b.Ready, b.MetricsAllow, false)
}

// NewRouter returns a chi router with the middleware every service uses and the operational
// endpoints /healthz, /readyz and /metrics (to DefaultMetricsAllow only). checks name what
// /readyz tries.
func NewRouter(log *slog.Logger, m *metrics.Metrics, checks map[string]ReadyCheck) chi.Router {
	return newRouter(log, m, checks, nil, true)
}

func newRouter(log *slog.Logger, m *metrics.Metrics, checks map[string]ReadyCheck, metricsAllow []netip.Prefix, cors bool) chi.Router {
	r := chi.NewRouter()
	r.Use(Deadline(RequestTimeout), LimitBodyTime(BodyIdleTimeout, BodyTimeout), Correlate, Recover(log), Observe(log, m))
	if cors {
		r.Use(CORS)
	}
	r.Use(middleware.GetHead)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, log, errs.Newf(errs.NotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		Encode(w, http.StatusMethodNotAllowed, errorBody{Error: "method not allowed", Code: errs.CodeMethodNotAllowed})
	})
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		Encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", handleReady(checks))
	r.Method(http.MethodGet, "/metrics", metricsOnlyFrom(metricsAllow, m.Handler(), r))
	return r
}

// DefaultMetricsAllow are the peers /metrics answers unless METRICS_ALLOW says otherwise:
// loopback and the private ranges (RFC 1918, IPv6 unique local), where a cluster's or a
// compose network's Prometheus scrapes from.
var DefaultMetricsAllow = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fc00::/7"),
}

// metricsOnlyFrom serves metrics only to a peer (the TCP address, never a header) in allow
// (DefaultMetricsAllow when nil), and only to a request no proxy relayed: a request that
// carries X-Forwarded-For, Forwarded or X-Real-IP came through a proxy (an ingress, a load
// balancer) on behalf of someone else, whose own address is not the peer's. Anyone else gets
// the router's 404, as if there were no such route: the figures (routes, traffic, errors)
// are for the operators.
func metricsOnlyFrom(allow []netip.Prefix, metrics http.Handler, mux *chi.Mux) http.Handler {
	if allow == nil {
		allow = DefaultMetricsAllow
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		relayed := r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != ""
		if err != nil || relayed || !slices.ContainsFunc(allow, func(p netip.Prefix) bool { return p.Contains(peer.Addr().Unmap()) }) {
			mux.NotFoundHandler().ServeHTTP(w, r)
			return
		}
		metrics.ServeHTTP(w, r)
	})
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
