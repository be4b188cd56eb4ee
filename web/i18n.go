package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// languages the shop speaks; the first is the default.
var languages = []string{"en", "es"}

func supported(lang string) bool { return slices.Contains(languages, lang) }

// preferredLanguage picks the best supported language of an Accept-Language header
// ("es-ES,es;q=0.9,en;q=0.8"), or the default.
func preferredLanguage(header string) string {
	best, bestQ := languages[0], 0.0
	for part := range strings.SplitSeq(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if supported(base) && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}

// translate returns the message key in lang (falling back to English, then to the key itself).
func translate(lang, key string, args ...any) string {
	msg, ok := messages[lang][key]
	if !ok {
		if msg, ok = messages["en"][key]; !ok {
			return key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

func hasMessage(key string) bool { _, ok := messages["en"][key]; return ok }

// handleLanguage switches the language, remembers it in a cookie and goes back to the page.
func handleLanguage(p *pages) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lang := chi.URLParam(r, "lang")
		if !supported(lang) {
			p.notFound(w, r)
			return
		}
		setCookie(w, r, langCookie, lang, 365*24*time.Hour)
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
	}
}
