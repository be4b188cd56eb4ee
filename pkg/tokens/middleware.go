package tokens

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

type userKey struct{}

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user the request's token belongs to.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// RequireUser lets a request through only with a valid token: 401 otherwise, 503 when auth is down.
func (c *Checker) RequireUser(log *slog.Logger) func(http.Handler) http.Handler {
	return c.Require(log, "")
}

// RequireAdmin lets through only users with the "admin" permission: 403 for other users.
func (c *Checker) RequireAdmin(log *slog.Logger) func(http.Handler) http.Handler {
	return c.Require(log, "admin")
}

// Require lets through users holding permission (any signed-in user when permission is "").
func (c *Checker) Require(log *slog.Logger, permission string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, err := c.Check(r.Context(), web.BearerToken(r))
			if err != nil {
				web.Error(w, r, log, err)
				return
			}
			if permission != "" && !u.Has(permission) {
				web.Error(w, r, log, errs.Newf(errs.Forbidden, "requires the %q permission", permission).WithCode(errs.CodeMissingPermission))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), u)))
		})
	}
}
