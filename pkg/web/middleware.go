package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/ecommerce-go/ecommerce/pkg/correlation"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
)

// CorrelationHeader carries a request's correlation id; LegacyCorrelationHeader is the course's old name.
const (
	CorrelationHeader       = "X-Correlation-Id"
	LegacyCorrelationHeader = "correlation_id"
)

// Correlate puts the request's correlation id (from its headers, or a new one) in the context
// and echoes it in the response headers.
func Correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(CorrelationHeader)
		if id == "" {
			id = r.Header.Get(LegacyCorrelationHeader)
		}
		if id == "" || len(id) > 128 {
			id = correlation.New()
		}
		w.Header().Set(CorrelationHeader, id)
		next.ServeHTTP(w, r.WithContext(correlation.With(r.Context(), id)))
	})
}

// Observe logs every request and records it in m, by chi route pattern (not raw path, so ids
// do not explode the metric labels).
func Observe(log *slog.Logger, m *metrics.Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			route := "unmatched"
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
			}
			took := time.Since(start)
			m.ObserveRequest(route, r.Method, status, took)
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			log.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path,
				"route", route, "status", status, "bytes", ww.BytesWritten(), "took_ms", float64(took.Microseconds())/1000)
		})
	}
}

// Recover turns a panic in a handler into a logged 500 with no detail for the client.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.ErrorContext(r.Context(), "panic in handler", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
					Encode(w, http.StatusInternalServerError, errorBody{Error: "internal error", Code: errs.CodeInternalError})
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// CORS opens the API to any origin, as the course's web client runs on another one.
func CORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Size, X-Correlation-Id")
		h.Set("Access-Control-Expose-Headers", "X-Correlation-Id, ETag, "+TotalCountHeader)
		h.Set("Access-Control-Max-Age", "600")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ReadyCheck reports whether one dependency (a store, the broker) answers.
type ReadyCheck func(ctx context.Context) error
