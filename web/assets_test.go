package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	pkgweb "github.com/ecommerce-go/ecommerce/pkg/web"
	"github.com/ecommerce-go/ecommerce/web/api"
)

// The pages reference the static files by content-hashed names, which the storefront serves
// cached for a year, gzipped for browsers that accept it; any other name is 404.
func TestStaticFilesHashedCompressedCachedForAYear(t *testing.T) {
	srv := NewServer(Deps{Basics: pkgweb.Basics{Log: slog.New(slog.DiscardHandler), Metrics: metrics.New("web")},
		Tokens: tokens.NewChecker("http://127.0.0.1:1", time.Minute), Client: api.New(api.URLs{})})
	get := func(path string, header ...string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Result()
	}

	var page bytes.Buffer
	require.NoError(t, mustParsePages(nil, nil).execute(&page, "order", &view{lang: "en", Title: "order.title", Data: orderData{}}))
	refs := regexp.MustCompile(`"(/static/[^"]+)"`).FindAllStringSubmatch(page.String(), -1)
	seen := map[string]bool{}
	for _, ref := range refs {
		seen[ref[1]] = true
	}
	for name, want := range map[string]string{"style.css": "text/css", "order.js": "javascript", "icon.svg": "image/svg+xml"} {
		t.Run(name, func(t *testing.T) {
			embedded, err := fs.ReadFile(staticFS, "static/"+name)
			require.NoError(t, err)
			url, err := mustParsePages(nil, nil).static.URL(name)
			require.NoError(t, err)
			assert.Regexp(t, `^/static/[a-z]+\.[0-9a-f]{12}\.[a-z]+$`, url)
			assert.True(t, seen[url], "the page references %s as %s", name, url)

			res := get(url, "Accept-Encoding", "br, gzip;q=0.8")
			assert.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, "public, max-age=31536000, immutable", res.Header.Get("Cache-Control"))
			assert.Contains(t, res.Header.Get("Content-Type"), want)
			assert.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
			assert.Contains(t, res.Header.Values("Vary"), "Accept-Encoding")
			zr, err := gzip.NewReader(res.Body)
			require.NoError(t, err)
			body, err := io.ReadAll(zr)
			require.NoError(t, err)
			assert.Equal(t, embedded, body)
			etag := res.Header.Get("ETag")
			require.NotEmpty(t, etag)

			res = get(url, "Accept-Encoding", "gzip;q=0, identity")
			assert.Equal(t, http.StatusOK, res.StatusCode)
			assert.Empty(t, res.Header.Get("Content-Encoding"))
			plain, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			assert.Equal(t, embedded, plain)
			assert.NotEqual(t, etag, res.Header.Get("ETag"), "each encoding has its own ETag")

			res = get(url, "Accept-Encoding", "gzip", "If-None-Match", etag)
			assert.Equal(t, http.StatusNotModified, res.StatusCode)

			// The bare name, an old version's hash and a made-up one are not served.
			old := regexp.MustCompile(`\.[0-9a-f]{12}\.`).ReplaceAllString(url, ".000000000000.")
			for _, bad := range []string{"/static/" + name, old, url + ".map", "/static/../static/" + name} {
				res := get(bad)
				assert.Equal(t, http.StatusNotFound, res.StatusCode, bad)
				assert.NotContains(t, res.Header.Get("Cache-Control"), "max-age", bad)
			}
		})
	}
}

// Pages are gzipped for browsers that accept it, and plain for the others.
func TestPagesCompressed(t *testing.T) {
	srv := NewServer(Deps{Basics: pkgweb.Basics{Log: slog.New(slog.DiscardHandler), Metrics: metrics.New("web")},
		Tokens: tokens.NewChecker("http://127.0.0.1:1", time.Minute), Client: api.New(api.URLs{})})
	for _, gz := range []bool{true, false} {
		req := httptest.NewRequest(http.MethodGet, "/signin", nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code)
		body := io.Reader(rec.Body)
		if gz {
			require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
			zr, err := gzip.NewReader(rec.Body)
			require.NoError(t, err)
			body = zr
		} else {
			require.Empty(t, rec.Header().Get("Content-Encoding"))
		}
		html, err := io.ReadAll(body)
		require.NoError(t, err)
		assert.Contains(t, string(html), `<meta name="description" content="`)
		assert.Contains(t, string(html), `action="/signin"`)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "br, gzip, deflate": true, "gzip;q=0": false, "gzip; q=0.5": true,
		"deflate": false, "*": true, "identity, *;q=0": false, "x-gzip": false,
	} {
		assert.Equal(t, want, acceptsGzip(header), "%q", header)
	}
}
