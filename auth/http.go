package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// maxBody limits auth's request bodies: they hold a few short strings.
const maxBody = 16 << 10

// errBadCredentials is the one answer to a wrong login and to a wrong password alike, so that
// sign-in does not tell which logins exist.
var errBadCredentials = errs.Newf(errs.Unauthorized, "wrong login or password").WithCode(errs.CodeWrongCredentials)

type tokenResponse struct {
	Token string `json:"token"`
}

func handleSignUp(log *slog.Logger, store *Store, pw passwords, sess *sessions, limits *rateLimits) http.Handler {
	// Only these fields are read: a "permissions" field in the body is ignored.
	type request struct {
		Name     string `json:"name"`
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		req, err := web.DecodeLimit[request](r, maxBody)
		if err != nil {
			return err
		}
		// Checked before the quotas, so a malformed sign-up costs no slot; hashed after them,
		// so a refused one costs no bcrypt.
		if err := checkNewUser(req.Name, req.Login, req.Password); err != nil {
			return err
		}
		attempt, refused, err := limits.startSignUp(r.Context(), r)
		if err != nil {
			return err
		}
		if refused != nil {
			return errs.RateLimitedf(refused.retryAfter, "%s", refused.why)
		}
		u, err := pw.newUser(req.Name, req.Login, req.Password)
		if err == nil {
			u, err = store.CreateUser(r.Context(), u)
		}
		if err != nil {
			if ferr := attempt.finished(r.Context(), "", errors.Is(err, errs.Conflict)); ferr != nil {
				log.WarnContext(r.Context(), "sign-up slots not released", "err", ferr)
			}
			return err
		}
		if err := attempt.finished(r.Context(), u.Login, false); err != nil {
			log.WarnContext(r.Context(), "sign-up slots not released", "err", err)
		}
		token, err := sess.issue(r.Context(), u, sess.from(r))
		if err != nil {
			return err
		}
		web.Encode(w, http.StatusOK, tokenResponse{Token: token})
		return nil
	})
}

func handleSignIn(log *slog.Logger, store *Store, pw passwords, sess *sessions, limits *rateLimits) http.Handler {
	type request struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		req, err := web.DecodeLimit[request](r, maxBody)
		if err != nil {
			return err
		}
		login := strings.TrimSpace(req.Login)
		var v errs.Validation
		v.Check(login != "", "login", errs.Break(errs.RuleRequired))
		// No such login can exist; refusing it before it is counted keeps the rate limiter's
		// keys short (otherwise 100,000 keys of up to maxBody bytes each could be held).
		v.Check(utf8.RuneCountInString(login) <= maxLogin, "login", errs.Break(errs.RuleMaxChars, maxLogin))
		v.Check(req.Password != "", "password", errs.Break(errs.RuleRequired))
		if err := v.Err(); err != nil {
			return err
		}
		attempt, refused, err := limits.startSignIn(r.Context(), r, login)
		if err != nil {
			return err
		}
		if refused != nil {
			return errs.RateLimitedf(refused.retryAfter, "%s", refused.why)
		}
		u, err := store.UserByLogin(r.Context(), login)
		if errors.Is(err, errs.NotFound) {
			pw.matchesNoOne(req.Password) // same work as for a known login
			return errBadCredentials      // the attempt's slots stay: a failure
		}
		if err != nil {
			return err
		}
		// A disabled account gets the same answer as a wrong password, so that the answer
		// never confirms a password that cannot be used.
		if !pw.matches(u.PasswordHash, req.Password) || !u.Enabled {
			return errBadCredentials
		}
		if err := attempt.succeeded(r.Context()); err != nil {
			// The person is who they say; only the forgiveness of this attempt was lost.
			log.WarnContext(r.Context(), "sign-in slots not released", "err", err)
		}
		token, err := sess.issue(r.Context(), u, sess.from(r))
		if err != nil {
			return err
		}
		web.Encode(w, http.StatusOK, tokenResponse{Token: token})
		return nil
	})
}

func handleSignOut(log *slog.Logger, sess *sessions) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		if err := sess.signOut(r.Context(), callerFrom(r.Context()).claims); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
}

func handleCurrentUser() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		web.Encode(w, http.StatusOK, callerFrom(r.Context()).user)
	})
}

// handleChangePassword sets a new password and signs the user out of every other session.
func handleChangePassword(log *slog.Logger, store *Store, pw passwords, sess *sessions) http.Handler {
	type request struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		req, err := web.DecodeLimit[request](r, maxBody)
		if err != nil {
			return err
		}
		var v errs.Validation
		v.Check(req.CurrentPassword != "", "currentPassword", errs.Break(errs.RuleRequired))
		checkPassword(&v, "newPassword", req.NewPassword)
		if err := v.Err(); err != nil {
			return err
		}
		c := callerFrom(r.Context())
		u := c.user
		if !pw.matches(u.PasswordHash, req.CurrentPassword) {
			return errs.Field("currentPassword", errs.Break(errs.RuleNotCurrentPassword))
		}
		hash, err := pw.hash(req.NewPassword)
		if err != nil {
			return err
		}
		if err := store.SetPassword(r.Context(), u.ID, hash); err != nil {
			return err
		}
		broadcastErr, err := sess.endAll(r.Context(), u.ID, c.claims.TokenID)
		if err != nil {
			return err
		}
		if broadcastErr != nil {
			// The password is changed and the tokens revoked here; other services' caches
			// will let them go when their entries expire.
			log.WarnContext(r.Context(), "password changed, but the logout broadcast of other sessions failed", "err", broadcastErr)
		}
		web.NoContent(w)
		return nil
	})
}

// handleListUsers serves GET /users/all: a page of the users, newest first, optionally only
// those whose login contains ?q=.
func handleListUsers(log *slog.Logger, store *Store) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		query := r.URL.Query()
		var v errs.Validation
		v.Summary = "invalid listing parameters"
		page, size := web.Paging(query, &v)
		q := strings.TrimSpace(query.Get("q"))
		switch {
		case utf8.RuneCountInString(q) > maxLogin:
			v.Add("q", errs.Break(errs.RuleMaxChars, maxLogin))
		case !utf8.ValidString(q) || strings.ContainsFunc(q, unicode.IsControl):
			v.Add("q", errs.Break(errs.RulePlainText))
		}
		if err := v.Err(); err != nil {
			return err
		}
		users, total, err := store.UsersPage(r.Context(), q, page, size)
		if err != nil {
			return err
		}
		web.EncodePage(w, r, users, total)
		return nil
	})
}

func handleEnable(log *slog.Logger, store *Store, sess *sessions) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		id, err := userIDParam(r)
		if err != nil {
			return err
		}
		if err := store.SetEnabled(r.Context(), id, true); err != nil {
			return err
		}
		if err := sess.userChanged(r.Context(), id); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
}

func handleDisable(log *slog.Logger, sess *sessions) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		id, err := userIDParam(r)
		if err != nil {
			return err
		}
		if id == callerFrom(r.Context()).user.ID {
			return errs.Newf(errs.Conflict, "you cannot disable yourself").WithCode(errs.CodeCannotDisableSelf)
		}
		if err := sess.disableUser(r.Context(), id); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
}

// handleGrant adds permissions, then broadcasts user-changed so that every service drops the
// user's cached permissions at once: the next request sees the grant.
func handleGrant(log *slog.Logger, store *Store, sess *sessions) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		id, permissions, err := readPermissionChange(r)
		if err != nil {
			return err
		}
		if err := store.Grant(r.Context(), id, permissions); err != nil {
			return err
		}
		if err := sess.userChanged(r.Context(), id); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
}

// handleRevoke removes permissions, then broadcasts user-changed as handleGrant does. An admin
// cannot revoke its own admin permission: the shop would be left without a console.
func handleRevoke(log *slog.Logger, store *Store, sess *sessions) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		id, permissions, err := readPermissionChange(r)
		if err != nil {
			return err
		}
		if id == callerFrom(r.Context()).user.ID && slices.Contains(permissions, PermissionAdmin) {
			return errs.Newf(errs.Conflict, "you cannot revoke your own admin permission: ask another admin").WithCode(errs.CodeCannotRevokeOwnAdmin)
		}
		if err := store.Revoke(r.Context(), id, permissions); err != nil {
			return err
		}
		if err := sess.userChanged(r.Context(), id); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
}

// handleSessions serves GET /users/sessions: the caller's live sessions.
func handleSessions(log *slog.Logger, sess *sessions) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		list, err := sess.list(r.Context(), callerFrom(r.Context()).claims)
		if err != nil {
			return err
		}
		web.Encode(w, http.StatusOK, list)
		return nil
	})
}

// handleEndSession serves DELETE /users/sessions/{sessionId}: the caller ends one of its own
// sessions (the current one too, as a sign-out). Anyone else's is 404, as an unknown one.
func handleEndSession(log *slog.Logger, sess *sessions) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		id, err := bson.ObjectIDFromHex(chi.URLParam(r, "sessionId"))
		if err != nil {
			return errs.Newf(errs.Invalid, "malformed session id: want 24 hex digits").WithCode(errs.CodeMalformedID)
		}
		if err := sess.end(r.Context(), callerFrom(r.Context()).user.ID, id.Hex()); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
}

// handleEndOtherSessions serves DELETE /users/sessions: every session of the caller but the
// current one ends.
func handleEndOtherSessions(log *slog.Logger, sess *sessions) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		c := callerFrom(r.Context())
		broadcastErr, err := sess.endAll(r.Context(), c.user.ID, c.claims.TokenID)
		if err != nil {
			return err
		}
		if broadcastErr != nil {
			log.WarnContext(r.Context(), "sessions ended, but a logout broadcast failed", "err", broadcastErr)
		}
		web.NoContent(w)
		return nil
	})
}

// handleSignOutUser serves an admin's POST /users/{userId}/signout: every session of that user
// ends (the admin's own included, when it signs itself out: it can sign in again).
func handleSignOutUser(log *slog.Logger, store *Store, sess *sessions) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		id, err := userIDParam(r)
		if err != nil {
			return err
		}
		if _, err := store.UserByID(r.Context(), id); err != nil {
			return err
		}
		broadcastErr, err := sess.endAll(r.Context(), id, "")
		if err != nil {
			return err
		}
		if broadcastErr != nil {
			log.WarnContext(r.Context(), "sessions ended, but a logout broadcast failed", "err", broadcastErr)
		}
		web.NoContent(w)
		return nil
	})
}

// userIDParam returns the {userId} of the URL in canonical form (lower-case hex, as User.ID).
// The text as sent will not do: ids are read in any letter case, yet they are compared with
// the caller's id and signed into the tokens that logout broadcasts, which must match exactly.
func userIDParam(r *http.Request) (string, error) {
	oid, err := parseID(chi.URLParam(r, "userId"))
	if err != nil {
		return "", err
	}
	return oid.Hex(), nil
}

// readPermissionChange reads a grant or a revoke: the user id of the URL and the checked
// permissions of the body.
func readPermissionChange(r *http.Request) (userID string, permissions []string, err error) {
	if userID, err = userIDParam(r); err != nil {
		return "", nil, err
	}
	type request struct {
		Permissions []string `json:"permissions"`
	}
	req, err := web.DecodeLimit[request](r, maxBody)
	if err != nil {
		return "", nil, err
	}
	if err := checkPermissions(req.Permissions); err != nil {
		return "", nil, err
	}
	return userID, req.Permissions, nil
}

// caller is the signed-in user of a request and the claims of its token.
type caller struct {
	user   User
	claims claims
}

type callerKey struct{}

// callerFrom returns the caller that requireUser put in ctx.
func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// requireUser lets through requests whose bearer token is valid (401 otherwise) and whose user
// holds permission (403 otherwise; any user when permission is ""). Auth checks tokens against
// its own store, with no cache: it is where revocation takes effect.
func requireUser(log *slog.Logger, sess *sessions, permission string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
			u, c, err := sess.check(r.Context(), web.BearerToken(r))
			if err != nil {
				return err
			}
			if permission != "" && !u.Has(permission) {
				return errs.Newf(errs.Forbidden, "requires the %q permission", permission).WithCode(errs.CodeMissingPermission)
			}
			ctx := context.WithValue(r.Context(), callerKey{}, caller{user: u, claims: c})
			next.ServeHTTP(w, r.WithContext(ctx))
			return nil
		})
	}
}
