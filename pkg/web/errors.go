package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// StatusClientClosedRequest is recorded for requests whose client left before the answer.
const StatusClientClosedRequest = 499

// errorBody is the SPEC §2 error format; Messages only for validation errors.
type errorBody struct {
	Error    string              `json:"error"`
	Code     errs.Code           `json:"code"`
	Messages []errs.FieldProblem `json:"messages,omitempty"`
}

// statusOf is the single table from error kinds to HTTP status codes.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errs.Invalid):
		return http.StatusBadRequest
	case errors.Is(err, errs.Unauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errs.Forbidden):
		return http.StatusForbidden
	case errors.Is(err, errs.NotFound):
		return http.StatusNotFound
	case errors.Is(err, errs.Conflict):
		return http.StatusConflict
	case errors.Is(err, errs.TooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errs.Unsupported):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, errs.RateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, errs.TimedOut):
		return http.StatusRequestTimeout
	case errors.Is(err, errs.Unavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable // a dependency too slow for the request's deadline
	}
	return http.StatusInternalServerError
}

// codeOf is the stable name of err that clients read (SPEC §2): an errs.Error's own code, else
// its status's.
func codeOf(err error, status int) errs.Code {
	var e *errs.Error
	if errors.As(err, &e) && e.Code != (errs.Code{}) && status < 500 {
		return e.Code
	}
	var v *errs.Validation
	if errors.As(err, &v) {
		if v.Code != (errs.Code{}) {
			return v.Code
		}
		return errs.CodeValidationFailed
	}
	switch status {
	case http.StatusBadRequest:
		return errs.CodeBadRequest
	case http.StatusUnauthorized:
		return errs.CodeUnauthorized
	case http.StatusForbidden:
		return errs.CodeForbidden
	case http.StatusNotFound:
		return errs.CodeNotFound
	case http.StatusConflict:
		return errs.CodeConflict
	case http.StatusRequestEntityTooLarge:
		return errs.CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return errs.CodeUnsupportedMediaType
	case http.StatusTooManyRequests:
		return errs.CodeRateLimited
	case http.StatusRequestTimeout:
		return errs.CodeTimedOut
	case http.StatusServiceUnavailable:
		return errs.CodeUnavailable
	}
	return errs.CodeInternalError
}

// retryAfterSeconds is the Retry-After value for a pause of d: whole seconds, rounded up, at
// least 1 (a client told 0 would retry at once).
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// errorKinds are the kinds of error statusOf tells apart, for KindOf.
var errorKinds = []error{errs.Invalid, errs.Unauthorized, errs.Forbidden, errs.NotFound, errs.Conflict,
	errs.TooLarge, errs.Unsupported, errs.RateLimited, errs.TimedOut, errs.Unavailable}

// KindOf is the error kind a client reads from an answer's status: statusOf's table read
// backwards, errs.Unavailable for a status it does not name (5xx).
func KindOf(status int) error {
	for _, k := range errorKinds {
		if statusOf(k) == status {
			return k
		}
	}
	return errs.Unavailable
}

// StatusOf tells the HTTP status that Error would answer for err.
func StatusOf(err error) int { return statusOf(err) }

// Error answers err with its status and the SPEC's JSON error body. 5xx errors are logged with
// their detail and answered with a generic message; 4xx answers carry the error's own text.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(err, errs.TimedOut) {
		// A body that stopped coming also cancels the request's context, but the client is
		// still there to read why; the connection cannot carry another request.
		w.Header().Set("Connection", "close")
	} else if errors.Is(r.Context().Err(), context.Canceled) {
		// The client went away mid-request, so the store or broker call was cut short: not a
		// failure of this service. 499 (nginx's "client closed request") keeps it out of the
		// 5xx logs and metrics; nobody reads the answer.
		log.InfoContext(r.Context(), "client went away", "method", r.Method, "path", r.URL.Path)
		w.WriteHeader(StatusClientClosedRequest)
		return
	}
	status := statusOf(err)
	body := errorBody{Error: clientMessage(err, status), Code: codeOf(err, status)}
	var e *errs.Error
	if status == http.StatusTooManyRequests && errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(e.RetryAfter))
	}
	var v *errs.Validation
	if errors.As(err, &v) {
		body.Error = v.SummaryText()
		body.Messages = v.Problems
	}
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	Encode(w, status, body)
}

// clientMessage is what a client reads about err: the message an errs.Error carries for it, or
// the bare kind ("not found") — never the text of other errors, which may hold internal detail.
func clientMessage(err error, status int) string {
	switch {
	case status == http.StatusInternalServerError:
		return "internal error"
	case status == http.StatusServiceUnavailable:
		return "a service this request needs is unavailable, try again shortly"
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Message
	}
	for _, kind := range []error{errs.Invalid, errs.Unauthorized, errs.Forbidden, errs.NotFound,
		errs.Conflict, errs.TooLarge, errs.Unsupported, errs.RateLimited, errs.TimedOut} {
		if errors.Is(err, kind) {
			return kind.Error()
		}
	}
	return "internal error"
}

// HandlerFunc is a handler that returns its failure instead of answering it: Handle answers a
// returned error with Error, so a handler ends in `return err` rather than an error tail.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h to an http.Handler whose errors are answered by Error (logged with log when
// they are 5xx). A handler that has already written its answer returns nil.
func Handle(log *slog.Logger, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			Error(w, r, log, err)
		}
	})
}
