package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// ShedRetryAfter is the pause a shed request is told to take before trying again.
const ShedRetryAfter = time.Second

// Shed returns middleware that lets at most slots requests run the wrapped handler at once.
// A request that finds every slot taken waits up to wait for one, then is answered 429 with a
// Retry-After header instead of queueing behind work it would only slow down further.
//
// It guards routes that are expensive and open to anyone (a catalog listing, a search): however
// many such requests arrive, at most slots of them compete for the store and CPU, so the cheap
// routes and /healthz keep answering, and the refused clients hear so in at most wait.
// Each call makes its own set of slots: routes wrapped by one Shed share them.
func Shed(log *slog.Logger, slots int, wait time.Duration) func(http.Handler) http.Handler {
	free := make(chan struct{}, slots)
	busy := errs.RateLimitedf(ShedRetryAfter, "the server is busy, try again in a moment").WithCode(errs.CodeBusy)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !takeSlot(r, free, wait) {
				Error(w, r, log, busy)
				return
			}
			defer func() { <-free }()
			next.ServeHTTP(w, r)
		})
	}
}

// takeSlot puts a token in free, waiting at most wait (and never past the request's end).
func takeSlot(r *http.Request, free chan struct{}, wait time.Duration) bool {
	select {
	case free <- struct{}{}:
		return true
	default:
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case free <- struct{}{}:
		return true
	case <-timer.C:
		return false
	case <-r.Context().Done():
		return false
	}
}
