// Package correlation carries a request's correlation id through contexts, log lines and
// messages, so one user action can be followed across every service it touches.
package correlation

import (
	"context"
	"io"
	"log/slog"

	"github.com/google/uuid"
)

type ctxKey struct{}

// With returns a context carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// ID returns the correlation id of ctx, or "" when it has none.
func ID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Ensure returns ctx with a correlation id, making a new one when ctx has none.
func Ensure(ctx context.Context) (context.Context, string) {
	if id := ID(ctx); id != "" {
		return ctx, id
	}
	id := New()
	return With(ctx, id), id
}

// New makes a fresh correlation id.
func New() string { return uuid.NewString() }

// NewLogger returns a JSON logger for service that adds the correlation id of the context to
// every line logged with a ...Context method.
func NewLogger(w io.Writer, service string, level slog.Level) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(handler{h}).With("service", service)
}

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := ID(ctx); id != "" {
		r.AddAttrs(slog.String("correlation_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{h.Handler.WithAttrs(attrs)}
}
func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }
