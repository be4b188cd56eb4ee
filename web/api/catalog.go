package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/ecommerce-go/ecommerce/pkg/money"
)

// Article is a catalog article.
type Article struct {
	ID          string      `json:"_id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Image       string      `json:"image"`
	Price       money.Cents `json:"price"`
	Stock       int64       `json:"stock"`
	Enabled     bool        `json:"enabled"`
}

// ArticlePage is one page of the catalog listing.
type ArticlePage struct {
	Items []Article `json:"items"`
	Page  int       `json:"page"`
	Size  int       `json:"size"`
	Total int64     `json:"total"`
}

// ArticleFields are the fields an admin sets; nil ones are left as they are on update.
type ArticleFields struct {
	Name        *string      `json:"name,omitempty"`
	Description *string      `json:"description,omitempty"`
	Image       *string      `json:"image,omitempty"`
	Price       *money.Cents `json:"price,omitempty"`
	Stock       *int64       `json:"stock,omitempty"`
	Enabled     *bool        `json:"enabled,omitempty"` // true restores a deleted article
}

// Articles lists enabled articles matching q (all when empty), page from 1.
func (c *Client) Articles(ctx context.Context, q string, page, size int) (ArticlePage, error) {
	var out ArticlePage
	v := url.Values{"page": {fmt.Sprint(page)}, "size": {fmt.Sprint(size)}}
	if q != "" {
		v.Set("q", q)
	}
	err := c.call(ctx, "catalog", http.MethodGet, c.urls.Catalog+"/articles?"+v.Encode(), "", nil, &out)
	return out, err
}

// DeletedArticles lists the deleted (disabled) articles matching q, page from 1 (admin).
func (c *Client) DeletedArticles(ctx context.Context, token, q string, page, size int) (ArticlePage, error) {
	var out ArticlePage
	v := url.Values{"page": {fmt.Sprint(page)}, "size": {fmt.Sprint(size)}, "deleted": {"true"}}
	if q != "" {
		v.Set("q", q)
	}
	err := c.call(ctx, "catalog", http.MethodGet, c.urls.Catalog+"/articles?"+v.Encode(), token, nil, &out)
	return out, err
}

// RestoreArticle brings a deleted article back (admin).
func (c *Client) RestoreArticle(ctx context.Context, token, id string) error {
	enabled := true
	_, err := c.UpdateArticle(ctx, token, id, ArticleFields{Enabled: &enabled})
	return err
}

// Article returns one article, disabled ones included.
func (c *Client) Article(ctx context.Context, id string) (Article, error) {
	var out Article
	err := c.call(ctx, "catalog", http.MethodGet, c.urls.Catalog+"/articles/"+url.PathEscape(id), "", nil, &out)
	return out, err
}

// CreateArticle creates an article (admin).
func (c *Client) CreateArticle(ctx context.Context, token string, f ArticleFields) (Article, error) {
	var out Article
	err := c.call(ctx, "catalog", http.MethodPost, c.urls.Catalog+"/articles", token, f, &out)
	return out, err
}

// UpdateArticle changes the fields set in f (admin).
func (c *Client) UpdateArticle(ctx context.Context, token, id string, f ArticleFields) (Article, error) {
	var out Article
	err := c.call(ctx, "catalog", http.MethodPost, c.urls.Catalog+"/articles/"+url.PathEscape(id), token, f, &out)
	return out, err
}

// DisableArticle soft-deletes an article (admin).
func (c *Client) DisableArticle(ctx context.Context, token, id string) error {
	return c.call(ctx, "catalog", http.MethodDelete, c.urls.Catalog+"/articles/"+url.PathEscape(id), token, nil, nil)
}

// UploadImage stores a JPEG or PNG given as a data URL and returns its id.
func (c *Client) UploadImage(ctx context.Context, token, dataURL string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	err := c.call(ctx, "image", http.MethodPost, c.urls.Image+"/images/create", token, map[string]string{"image": dataURL}, &out)
	return out.ID, err
}

// ImageJPEG is an image download: the image service's response, which the caller closes.
// ifNoneMatch is passed on, so the answer may be 304.
func (c *Client) ImageJPEG(ctx context.Context, id, size, ifNoneMatch string) (*http.Response, error) {
	u := c.urls.Image + "/images/" + url.PathEscape(id) + "/jpeg"
	if size != "" {
		u += "?Size=" + url.QueryEscape(size)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &Error{Service: "image", Status: http.StatusServiceUnavailable, Message: err.Error()}
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotModified {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		status := resp.StatusCode
		if status >= 500 {
			status = http.StatusServiceUnavailable
		}
		return nil, &Error{Service: "image", Status: status}
	}
	return resp, nil
}
