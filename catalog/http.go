package catalog

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Limits of searches and listings.
const (
	maxCriteriaLen  = 200
	maxWords        = 10
	maxSearchResult = 100
)

func handleArticleGet(log *slog.Logger, view *articleView, store *Store) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		a, err := view.article(r.Context(), store, chi.URLParam(r, "id"))
		if err != nil {
			return err
		}
		web.EncodeTagged(w, r, a)
		return nil
	})
}

func handleArticleSearch(log *slog.Logger, view *articleView) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		criteria := chi.URLParam(r, "criteria")
		if r.URL.RawPath != "" { // chi matched on the escaped path
			var err error
			if criteria, err = url.PathUnescape(criteria); err != nil {
				return errs.Newf(errs.Invalid, "malformed search criteria").WithCode(errs.CodeInvalidSearch)
			}
		}
		words, problem := searchWords(criteria)
		if problem == nil && len(words) == 0 {
			problem = errs.Break(errs.RuleNotEmpty)
		}
		if problem != nil {
			return errs.Newf(errs.Invalid, "search criteria %s", problem.Error()).WithCode(errs.CodeInvalidSearch)
		}
		web.EncodeTagged(w, r, nonNil(view.search(words, maxSearchResult)))
		return nil
	})
}

// searchWords splits a search text into the words that must all match; problem says what is
// wrong with the text, if anything.
func searchWords(text string) (words []string, problem *errs.Broken) {
	if utf8.RuneCountInString(text) > maxCriteriaLen {
		return nil, errs.Break(errs.RuleMaxChars, maxCriteriaLen)
	}
	words = strings.Fields(text)
	if len(words) > maxWords {
		return nil, errs.Break(errs.RuleMaxWords, maxWords)
	}
	// No article text holds invalid UTF-8 or control characters worth searching for.
	for _, w := range words {
		if !utf8.ValidString(w) || strings.ContainsFunc(w, unicode.IsControl) {
			return nil, errs.Break(errs.RulePlainText)
		}
	}
	return words, nil
}

// handleArticleList serves GET /articles: a page of the enabled articles, or with
// ?deleted=true, for admins only, of the deleted ones (the console's Restore list).
func handleArticleList(log *slog.Logger, view *articleView, auth *tokens.Checker) http.Handler {
	type page struct {
		Items []Article `json:"items"`
		Page  int       `json:"page"`
		Size  int       `json:"size"`
		Total int       `json:"total"`
	}
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		query := r.URL.Query()
		var v errs.Validation
		v.Summary = "invalid listing parameters"
		pageNo, size := web.Paging(query, &v)
		words, problem := searchWords(query.Get("q"))
		if problem != nil {
			v.Add("q", problem)
		}
		deleted := query.Get("deleted")
		v.Check(deleted == "" || deleted == "true" || deleted == "false", "deleted", errs.Break(errs.RuleOneOf, []string{"true", "false"}))
		if err := v.Err(); err != nil {
			return err
		}
		list := view.list
		if deleted == "true" {
			if err := requireAdmin(r, auth); err != nil {
				return err
			}
			list = view.listDeleted
		}
		items, total := list(words, pageNo, size)
		web.EncodeTagged(w, r, page{Items: nonNil(items), Page: pageNo, Size: size, Total: total})
		return nil
	})
}

// requireAdmin checks that the request's token is an admin's.
func requireAdmin(r *http.Request, auth *tokens.Checker) error {
	u, err := auth.Check(r.Context(), web.BearerToken(r))
	if err == nil && !u.IsAdmin() {
		err = errs.Newf(errs.Forbidden, "requires the %q permission", "admin").WithCode(errs.CodeMissingPermission)
	}
	return err
}

func handleArticleCreate(log *slog.Logger, store *Store) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		in, err := web.Decode[articleInput](r)
		if err != nil {
			return err
		}
		changes, err := in.validate(true)
		if err != nil {
			return err
		}
		a, err := store.CreateArticle(r.Context(), changes)
		if err != nil {
			return err
		}
		web.Encode(w, http.StatusOK, a)
		return nil
	})
}

func handleArticleUpdate(log *slog.Logger, store *Store) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		id := chi.URLParam(r, "id")
		// A malformed id is reported as such, whatever the body holds.
		if _, err := parseArticleID(id); err != nil {
			return err
		}
		in, err := web.Decode[articleInput](r)
		if err != nil {
			return err
		}
		changes, err := in.validate(false)
		if err != nil {
			return err
		}
		a, err := store.UpdateArticle(r.Context(), id, changes)
		if err != nil {
			return err
		}
		web.Encode(w, http.StatusOK, a)
		return nil
	})
}

func handleArticleDelete(log *slog.Logger, store *Store) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		if err := store.DisableArticle(r.Context(), chi.URLParam(r, "id")); err != nil {
			return err
		}
		web.NoContent(w)
		return nil
	})
}

// nonNil makes an empty result encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
