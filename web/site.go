// Package web is the storefront and admin console (SPEC §3.6): HTML pages rendered on the server
// from the five REST services, which it calls as any other client does (package api). It keeps
// no data of its own; the visitor's token lives in an HttpOnly cookie, forms carry a CSRF token,
// and every string shown comes from one English and Spanish message catalog.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/web/api"
)

// Cookie names. The token is only ever in sessionCookie (HttpOnly): never in a page, URL or script.
const (
	sessionCookie = "session"
	csrfCookie    = "csrf"
	formCookie    = "form" // a refused form, kept across its redirect (refuse)
	langCookie    = "lang"
	csrfField     = "csrf"
	maxFormBytes  = 10 << 20 // an article's picture is the largest thing posted
)

// guard is the middleware that decides who gets a page: the CSRF check, the session and the
// access rules. Its refusals are pages.
type guard struct {
	pages   *pages
	checker *tokens.Checker
	log     *slog.Logger
}

// visit is what the middleware learned about the request: language, CSRF token, user.
type visit struct {
	lang     string
	csrf     string
	token    string
	user     *tokens.User
	authDown bool // auth did not answer: the person is shown as signed out, pages needing a user are 503
}

type visitKey struct{}

func visitFrom(ctx context.Context) *visit {
	if v, ok := ctx.Value(visitKey{}).(*visit); ok {
		return v
	}
	return &visit{lang: "en"}
}

func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
}

// securityHeaders forbids inline scripts and styles, framing and outside sources: every asset
// comes from this server.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; object-src 'none'; "+
			"base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// language picks the page language: the lang cookie, else the Accept-Language header. It also
// records the visitor's address and User-Agent for the services (see api.WithClientAddress).
func language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &visit{lang: preferredLanguage(r.Header.Get("Accept-Language"))}
		if c, err := r.Cookie(langCookie); err == nil && supported(c.Value) {
			v.lang = c.Value
		}
		ctx := context.WithValue(r.Context(), visitKey{}, v)
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			ctx = api.WithClientAddress(ctx, host)
		}
		ctx = api.WithUserAgent(ctx, r.UserAgent())
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// csrf gives each browser a random token in a cookie; every POST must send it back in its
// form (double submit). A cross-site form cannot read the cookie, so cannot forge the field.
func (g *guard) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := visitFrom(r.Context())
		if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
			v.csrf = c.Value
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			sent := r.PostFormValue(csrfField) // also parses multipart forms
			if v.csrf == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(v.csrf)) != 1 {
				g.pages.renderError(w, r, http.StatusForbidden, "error.csrf")
				return
			}
		}
		if v.csrf == "" {
			b := make([]byte, 32)
			_, _ = rand.Read(b)
			v.csrf = base64.RawURLEncoding.EncodeToString(b)
			setCookie(w, r, csrfCookie, v.csrf, 365*24*time.Hour)
		}
		next.ServeHTTP(w, r)
	})
}

// session finds the signed-in user from the session cookie. A token auth refuses (signed out
// elsewhere, user disabled) ends the session and sends the person to sign in again.
func (g *guard) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := visitFrom(r.Context())
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		u, err := g.checker.Check(r.Context(), c.Value)
		switch {
		case err == nil:
			v.token, v.user = c.Value, &u
		case errors.Is(err, errs.Unauthorized):
			g.pages.sessionEnded(w, r)
			return
		default:
			g.log.WarnContext(r.Context(), "token check failed", "err", err)
			v.authDown = true
		}
		next.ServeHTTP(w, r)
	})
}

// sessionEnded forgets the session and sends the person to the sign-in page with a message.
func (p *pages) sessionEnded(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		p.checker.Evict(c.Value)
	}
	clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/signin?m=session_ended&next="+url.QueryEscape(localPath(r.URL.RequestURI())), http.StatusSeeOther)
}

func (g *guard) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := visitFrom(r.Context())
		switch {
		case v.user != nil:
			next.ServeHTTP(w, r)
		case v.authDown:
			g.pages.renderError(w, r, http.StatusServiceUnavailable, "error.unavailable.auth")
		default:
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(localPath(r.URL.RequestURI())), http.StatusSeeOther)
		}
	})
}

func (g *guard) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := visitFrom(r.Context()).user; u == nil || !u.IsAdmin() {
			g.pages.renderError(w, r, http.StatusForbidden, "error.forbidden")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// maxNextPath bounds the return address a redirect carries (a sign-in's next).
const maxNextPath = 2048

// localPath returns p, with every control character and whitespace removed, when that is a path
// of this site; else "/": redirects never leave the site. The characters go first because
// browsers drop tabs and line breaks from a URL: "/\t/evil.example" would be read as
// "//evil.example", another host. What is left must be an absolute path with no host, and no
// backslash anywhere (browsers read "/\evil.example" as "//evil.example" too).
func localPath(p string) string {
	if len(p) > maxNextPath {
		return "/"
	}
	p = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return -1
		}
		return r
	}, p)
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return p
}

// fail shows the page for an error of a service: 401 ends the session, 403, 404 and 429 get
// their error pages, anything else a 503 page naming the service that is down.
func (p *pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(r.Context().Err(), context.Canceled):
		return // the person left
	case errors.Is(err, errs.Unauthorized):
		p.sessionEnded(w, r)
	case errors.Is(err, errs.Forbidden):
		p.renderError(w, r, http.StatusForbidden, "error.forbidden")
	case errors.Is(err, errs.NotFound), errors.Is(err, errs.Invalid):
		// A form's 400 is shown on the form (formProblem); one that reaches here is about the
		// address itself, such as a malformed article or order id: there is nothing there.
		p.renderError(w, r, http.StatusNotFound, "error.notfound")
	case errors.Is(err, errs.RateLimited):
		p.renderError(w, r, http.StatusTooManyRequests, "error.ratelimited")
	default:
		key := "error.unavailable"
		if e, ok := api.AsError(err); ok && e.Service != "" {
			key += "." + e.Service
		}
		p.log.WarnContext(r.Context(), "page failed", "path", r.URL.Path, "err", err)
		p.renderError(w, r, http.StatusServiceUnavailable, key)
	}
}

func (p *pages) notFound(w http.ResponseWriter, r *http.Request) {
	securityHeaders(language(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.renderError(w, r, http.StatusNotFound, "error.notfound")
	}))).ServeHTTP(w, r)
}

func (p *pages) renderError(w http.ResponseWriter, r *http.Request, status int, key string) {
	p.render(w, r, status, "error", &view{Title: key + ".title", Data: key})
}

// render writes page with v, filled in with what the middleware learned about the request.
func (p *pages) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	vis := visitFrom(r.Context())
	v.lang, v.CSRF, v.User, v.Path = vis.lang, vis.csrf, vis.user, r.URL.RequestURI()
	if v.Flash == "" {
		if m := r.URL.Query().Get("m"); m != "" && hasMessage("flash."+m) {
			v.Flash = "flash." + m
		}
	}
	var buf bytes.Buffer
	if err := p.execute(&buf, page, v); err != nil {
		p.log.ErrorContext(r.Context(), "render failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// redirect answers a form post: see other page, with an optional flash message key.
func redirect(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "m=" + url.QueryEscape(flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// formProblem fills v from a service's validation error, in the page's language (apiProblem):
// the summary above the form and the messages next to their fields. Other errors are not form
// problems: it returns false.
func formProblem(r *http.Request, v *view, err error) bool {
	e, ok := api.AsError(err)
	if !ok || (e.Status != http.StatusBadRequest && e.Status != http.StatusConflict && e.Status != http.StatusTooManyRequests && e.Status != http.StatusRequestEntityTooLarge) {
		return false
	}
	summary, fields := apiProblem(visitFrom(r.Context()).lang, e)
	v.ErrorText = summary
	if v.ErrorText == "" && len(fields) == 0 {
		v.ErrorText = fmt.Sprintf("%s answered %d", e.Service, e.Status)
	}
	if v.Fields == nil {
		v.Fields = map[string]string{}
	}
	for path, msg := range fields {
		v.Fields[path] = msg
	}
	if len(e.Fields) > 0 && v.ErrorKey == "" {
		v.ErrorKey = "form.fix"
	}
	return true
}

// refusedForm is what a refused form post leaves for the page it redirects to: the values
// typed (passwords never) and the problems, by field and above the form.
type refusedForm struct {
	Path      string            `json:"p"` // the page that shows it
	Form      url.Values        `json:"f,omitempty"`
	Fields    map[string]string `json:"e,omitempty"`
	ErrorKey  string            `json:"k,omitempty"`
	ErrorText string            `json:"t,omitempty"`
}

// maxFormCookie bounds the refused form's cookie (browsers keep 4 kB per cookie).
const maxFormCookie = 3500

// refuse answers a refused form post by Post/Redirect/Get: v's typed values and problems go in
// a short-lived cookie, and the browser is sent to the page at to, which shows them once
// (refused). So the address bar never stays on the POST target, and a reload does not post
// again. Typed values too long for the cookie are dropped, longest first; their problems stay.
func refuse(w http.ResponseWriter, r *http.Request, to string, v *view) {
	path, _, _ := strings.Cut(to, "?")
	f := refusedForm{Path: path, Form: url.Values{}, Fields: v.Fields, ErrorKey: v.ErrorKey, ErrorText: v.ErrorText}
	for k, vs := range v.Form {
		if k != csrfField && !strings.Contains(strings.ToLower(k), "password") {
			f.Form[k] = vs
		}
	}
	encode := func() string {
		b, _ := json.Marshal(f)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	value := encode()
	for len(value) > maxFormCookie && len(f.Form) > 0 {
		longest := ""
		for k, vs := range f.Form {
			if longest == "" || len(strings.Join(vs, "")) > len(strings.Join(f.Form[longest], "")) {
				longest = k
			}
		}
		delete(f.Form, longest)
		value = encode()
	}
	if len(value) <= maxFormCookie {
		http.SetCookie(w, &http.Cookie{Name: formCookie, Value: value, Path: path, MaxAge: 300,
			HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// refused fills v with the refused form left for this page by refuse, once, and tells whether
// there was one.
func refused(w http.ResponseWriter, r *http.Request, v *view) bool {
	c, err := r.Cookie(formCookie)
	if err != nil {
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: formCookie, Value: "", Path: r.URL.Path, MaxAge: -1,
		HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode})
	var f refusedForm
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || json.Unmarshal(b, &f) != nil || f.Path != r.URL.Path {
		return false
	}
	v.Form, v.Fields, v.ErrorKey, v.ErrorText = f.Form, f.Fields, f.ErrorKey, f.ErrorText
	if v.Form == nil {
		v.Form = url.Values{}
	}
	return true
}
