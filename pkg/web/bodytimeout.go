package web

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Limits on how slowly a client may send a request body: BodyIdleTimeout without a byte, or
// BodyTimeout in all. Past either, reading the body fails and the request is answered 408
// (DecodeLimit's errs.TimedOut). The server's ReadTimeout alone would let a body announced as
// chunked, which then never comes, hold its connection for the whole ReadTimeout.
const (
	BodyIdleTimeout = 10 * time.Second
	BodyTimeout     = 30 * time.Second
)

// RequestTimeout is how long one request that changes something may take in all (its body
// included): what it waits for (a store, a turn, another service) ends with it, so no request
// holds a shared resource for good.
const RequestTimeout = time.Minute

// Deadline returns middleware that gives the context of every request but a read (GET, HEAD,
// OPTIONS) a deadline of timeout. Reads take no turn and hold nothing shared; their store calls
// have deadlines of their own, and the hottest routes are reads, where a timer per request is
// a cost worth sparing.
func Deadline(timeout time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// LimitBodyTime returns middleware that lets a request body go at most idle without a byte,
// and total in all (NewRouter uses BodyIdleTimeout and BodyTimeout).
func LimitBodyTime(idle, total time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = &slowBodyGuard{ReadCloser: r.Body, rc: http.NewResponseController(w),
					idle: idle, end: time.Now().Add(total)}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// slowBodyGuard moves the connection's read deadline before each read of the body: at most
// idle ahead, and never past end.
type slowBodyGuard struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	end  time.Time
}

func (b *slowBodyGuard) Read(p []byte) (int, error) {
	deadline := time.Now().Add(b.idle)
	if deadline.After(b.end) {
		deadline = b.end
	}
	_ = b.rc.SetReadDeadline(deadline) // not every writer supports it (httptest): then only the server's timeouts apply
	return b.ReadCloser.Read(p)
}
