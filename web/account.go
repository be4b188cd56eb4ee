package web

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/web/api"
)

// sessionAge is how long the browser keeps the session cookie: AUTH_TOKEN_IDLE's default, so the
// cookie lasts as long as an idle session would (auth ends the session itself).
const sessionAge = 30 * 24 * time.Hour

func handleSignUpForm(p *pages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, http.StatusOK, "signup", &view{Title: "signup.title", Form: r.URL.Query()})
	}
}

func handleSignUp(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &view{Title: "signup.title", Form: formWithout(r, "password")}
		token, err := c.SignUp(r.Context(), r.PostFormValue("name"), r.PostFormValue("login"), r.PostFormValue("password"))
		if err != nil {
			if !formProblem(r, v, err) {
				p.fail(w, r, err)
				return
			}
			if e, _ := api.AsError(err); e.Status == http.StatusConflict { // the login is taken
				v.Fields["login"], v.ErrorText, v.ErrorKey = e.Message, "", "form.fix"
			}
			p.render(w, r, http.StatusBadRequest, "signup", v)
			return
		}
		setCookie(w, r, sessionCookie, token, sessionAge)
		redirect(w, r, localPath(r.PostFormValue("next")), "welcome")
	}
}

func handleSignInForm(p *pages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, http.StatusOK, "signin", &view{Title: "signin.title", Form: r.URL.Query()})
	}
}

func handleSignIn(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &view{Title: "signin.title", Form: formWithout(r, "password")}
		token, err := c.SignIn(r.Context(), r.PostFormValue("login"), r.PostFormValue("password"))
		switch {
		case err == nil:
			setCookie(w, r, sessionCookie, token, sessionAge)
			redirect(w, r, localPath(r.PostFormValue("next")), "signed_in")
			return
		case errors.Is(err, errs.Unauthorized):
			v.ErrorKey = "signin.wrong"
		case !formProblem(r, v, err):
			p.fail(w, r, err)
			return
		}
		p.render(w, r, http.StatusBadRequest, "signin", v)
	}
}

// handleSignOut revokes the token everywhere (auth broadcasts the logout) and forgets it here.
func handleSignOut(p *pages, c *api.Client, checker *tokens.Checker) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := visitFrom(r.Context()).token
		if err := c.SignOut(r.Context(), token); err != nil && !errors.Is(err, errs.Unauthorized) {
			p.fail(w, r, err)
			return
		}
		checker.Evict(token)
		clearCookie(w, r, sessionCookie)
		redirect(w, r, "/", "signed_out")
	}
}

func handlePasswordForm(p *pages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, http.StatusOK, "password", &view{Title: "password.title"})
	}
}

func handlePasswordChange(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &view{Title: "password.title"}
		err := c.ChangePassword(r.Context(), visitFrom(r.Context()).token,
			r.PostFormValue("currentPassword"), r.PostFormValue("newPassword"))
		if err == nil {
			redirect(w, r, "/account/password", "password_changed")
			return
		}
		if !formProblem(r, v, err) {
			p.fail(w, r, err)
			return
		}
		p.render(w, r, http.StatusBadRequest, "password", v)
	}
}

// formWithout is the posted form minus the named fields (passwords are never typed back).
func formWithout(r *http.Request, names ...string) url.Values {
	f := url.Values{}
	for k, vs := range r.PostForm {
		f[k] = vs
	}
	for _, n := range names {
		f.Del(n)
	}
	return f
}

// handleSessions shows "Your sessions": every live session of the user, with an End button
// on each but the current one (signing out ends that), and one to end all the others.
func handleSessions(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		list, err := c.Sessions(r.Context(), visitFrom(r.Context()).token)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		p.render(w, r, http.StatusOK, "sessions", &view{Title: "sessions.title", Data: list})
	}
}

// handleSessionEnd ends one session of the user's (auth refuses anyone else's with 404).
func handleSessionEnd(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := c.EndSession(r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")); err != nil {
			p.fail(w, r, err)
			return
		}
		redirect(w, r, "/account/sessions", "session_closed")
	}
}

// handleOtherSessionsEnd ends every session of the user but this one.
func handleOtherSessionsEnd(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := c.EndOtherSessions(r.Context(), visitFrom(r.Context()).token); err != nil {
			p.fail(w, r, err)
			return
		}
		redirect(w, r, "/account/sessions", "sessions_closed")
	}
}
