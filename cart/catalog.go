package cart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// article is what the cart needs to know of a catalog article.
type article struct {
	ID      string `json:"_id"`
	Enabled bool   `json:"enabled"`
	Stock   int    `json:"stock"`
}

// articleSource finds articles in the catalog: errs.NotFound for an unknown one,
// errs.Unavailable when the catalog does not answer.
type articleSource interface {
	Article(ctx context.Context, id string) (article, error)
}

// catalogClient reads articles from catalog's REST API (GET /articles/{id}).
type catalogClient struct {
	baseURL string
	client  *http.Client
}

func newCatalogClient(baseURL string) *catalogClient {
	return &catalogClient{baseURL: strings.TrimRight(baseURL, "/"), client: &http.Client{Timeout: 5 * time.Second}}
}

// Article reads the article with id. catalog answers 400 for an id it cannot read as one of its
// own, which here is simply an article that does not exist.
func (c *catalogClient) Article(ctx context.Context, id string) (article, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+"/articles/"+url.PathEscape(id), nil)
	if err != nil {
		return article{}, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return article{}, fmt.Errorf("%w: catalog: %w", errs.Unavailable, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusBadRequest:
		return article{}, errs.Newf(errs.NotFound, "article %s not found", id)
	default:
		return article{}, fmt.Errorf("%w: catalog answered %d for article %s", errs.Unavailable, resp.StatusCode, id)
	}
	var a article
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&a); err != nil {
		return article{}, fmt.Errorf("%w: catalog article %s: %w", errs.Unavailable, id, err)
	}
	return a, nil
}

// validateLines checks every line against the catalog, a few lines at a time
// (catalogLookups): an unknown or disabled article is an error, a stock below the quantity a
// warning, each in the order of the lines. It fails only when the catalog does not answer.
func validateLines(ctx context.Context, catalog articleSource, lines []Line) (Report, error) {
	found := make([]article, len(lines))
	lookupErrs := make([]error, len(lines))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(catalogLookups)
	for i, l := range lines {
		g.Go(func() error {
			found[i], lookupErrs[i] = catalog.Article(gctx, l.ArticleID)
			if lookupErrs[i] != nil && !errors.Is(lookupErrs[i], errs.NotFound) {
				return lookupErrs[i]
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Report{}, err
	}
	r := Report{Errors: []Problem{}, Warnings: []Problem{}}
	for i, l := range lines {
		a, err := found[i], lookupErrs[i]
		switch {
		case err != nil: // errs.NotFound
			r.Errors = append(r.Errors, Problem{ArticleID: l.ArticleID, Message: "article not found", Code: errs.CodeArticleNotFound})
		case !a.Enabled:
			r.Errors = append(r.Errors, Problem{ArticleID: l.ArticleID, Message: "article disabled", Code: errs.CodeArticleDisabled})
		case a.Stock < l.Quantity:
			r.Warnings = append(r.Warnings, Problem{ArticleID: l.ArticleID, Message: "not enough stock", Code: errs.CodeNotEnoughStock})
		}
	}
	return r, nil
}

// catalogLookups is how many articles one validation asks catalog for at once.
const catalogLookups = 8
