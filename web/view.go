package web

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// view is what every page template gets: the request's language, CSRF token and user, the
// form's typed values and problems, and the page's own Data.
type view struct {
	lang      string
	CSRF      string
	User      *tokens.User
	Path      string // the page's own URL, for the language switch
	Title     string // message key of the page title
	TitleText string // or the title itself (an article's name)
	Flash     string // message key of a notice after a redirect

	ErrorText string            // a service's error summary, shown above the form
	ErrorKey  string            // or a message key for a problem found here
	Fields    map[string]string // problems by field name, shown next to the input
	Form      url.Values        // values typed, put back in the form

	Data any
}

// T translates key into the page's language; args fill its %s/%d verbs.
func (v *view) T(key string, args ...any) string { return translate(v.lang, key, args...) }

// Lang is the page's language code.
func (v *view) Lang() string { return v.lang }

// Field is the problem with the field name, or "".
// Problems found here are message keys; a service's are its own words.
func (v *view) Field(name string) string {
	msg := v.Fields[name]
	if hasMessage(msg) {
		return v.T(msg)
	}
	return msg
}

// Value is the value typed in the field name.
func (v *view) Value(name string) string { return v.Form.Get(name) }

// notation is how the page's language writes amounts.
func (v *view) notation() money.Notation { return notationOf(v.lang) }

func notationOf(lang string) money.Notation {
	if lang == "es" {
		return money.Spanish
	}
	return money.English
}

// Money formats an amount in euros the way the language writes it, with thousands separators.
func (v *view) Money(c money.Cents) string {
	if v.lang == "es" {
		return v.notation().Format(c) + "\u00a0€"
	}
	return "€" + v.notation().Format(c)
}

// AmountField is an amount as a form field shows it to edit: "32,89" on Spanish pages.
func (v *view) AmountField(c money.Cents) string { return v.notation().FormatPlain(c) }

// Date formats a time for the page's language, in the shop's time zone, which it names.
func (v *view) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if v.lang == "es" {
		return t.Local().Format("02/01/2006 15:04 MST")
	}
	return t.Local().Format("Jan 2, 2006 15:04 MST")
}

// Permission is the name of a permission in the page's language.
func (v *view) Permission(name string) string { return permissionName(v.lang, name) }

// Status is the translated name of an order status.
func (v *view) Status(status string) string { return v.T("status." + status) }

// LangURL is the link that switches the page to lang and comes back here.
func (v *view) LangURL(lang string) string {
	return "/lang/" + lang + "?next=" + url.QueryEscape(v.Path)
}

// Languages lists the languages the shop speaks.
func (v *view) Languages() []string { return languages }

// IsAdmin tells whether the page is shown to an admin (admin links are shown only then).
func (v *view) IsAdmin() bool { return v.User != nil && v.User.IsAdmin() }

// pages renders the storefront's pages (render), its error pages (renderError) and the page for
// a service's error (fail). It holds one template per page, each the layout plus the page's own
// blocks, and the static files they reference by content-hashed names.
type pages struct {
	byName  map[string]*template.Template
	static  *assets
	log     *slog.Logger
	checker *tokens.Checker // a token auth refuses is forgotten (sessionEnded)
}

func mustParsePages(log *slog.Logger, checker *tokens.Checker) *pages {
	static := mustLoadAssets()
	funcs := template.FuncMap{
		"asset": static.URL,
		"lower": strings.ToLower,
		"list":  func(items ...string) []string { return items },
		"dict": func(kv ...any) map[string]any {
			m := make(map[string]any, len(kv)/2)
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		},
		"orderno": orderNumber,
		"thumb":   func(id string, size int) string { return "/img/" + url.PathEscape(id) + "?size=" + fmt.Sprint(size) },
	}
	shared := []string{"templates/layout.html", "templates/parts.html", "templates/live.html"}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	p := &pages{byName: map[string]*template.Template{}, static: static, log: log, checker: checker}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "parts" || name == "live" {
			continue
		}
		// The templates are part of the binary: a parse error is a programming error found by
		// every test, so it may panic at start-up.
		p.byName[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, append(shared, f)...))
	}
	return p
}

func (p *pages) execute(w io.Writer, page string, v *view) error {
	t, ok := p.byName[page]
	if !ok {
		return fmt.Errorf("no page %q", page)
	}
	return t.ExecuteTemplate(w, "layout", v)
}
