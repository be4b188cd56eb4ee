package web

import (
	"embed"
	"net/http"
	"path"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// swaggerUI is Swagger UI (swaggerui/VERSION says which), served from the binary: the API pages
// work offline, with no CDN.
//
//go:embed swaggerui/index.html swaggerui/docs.js swaggerui/swagger-ui-bundle.js swaggerui/swagger-ui.css
var swaggerUI embed.FS

// docAssets are the files GET /docs/assets/{file} serves, with their content types.
var docAssets = map[string]string{
	"docs.js":              "text/javascript; charset=utf-8",
	"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
	"swagger-ui.css":       "text/css; charset=utf-8",
}

// AddDocs adds a service's API document to r (SPEC §2): GET /openapi.json serves spec (the
// service's deploy/openapi file, embedded in its binary), and GET /docs/ and /docs/index.html an
// interactive page that reads it. GET /docs redirects to /docs/ (the page's assets are relative
// to it); the documents name that path /docs, as OpenAPI paths end without a slash.
func AddDocs(r chi.Router, spec []byte) {
	r.Get("/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(spec)
	})
	page := serveEmbedded("index.html", "text/html; charset=utf-8")
	r.Get("/docs", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/docs/", http.StatusMovedPermanently)
	})
	r.Get("/docs/", page)
	r.Get("/docs/index.html", page)
	r.Get("/docs/assets/{file}", func(w http.ResponseWriter, r *http.Request) {
		file := chi.URLParam(r, "file")
		contentType, ok := docAssets[file]
		if !ok {
			Encode(w, http.StatusNotFound, errorBody{Error: "no such file", Code: errs.CodeNotFound})
			return
		}
		serveEmbedded(file, contentType)(w, r)
	})
}

// serveEmbedded answers with one file of swaggerUI. The files change only with the binary, so
// clients may keep them for a day.
func serveEmbedded(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		body, err := swaggerUI.ReadFile(path.Join("swaggerui", name))
		if err != nil {
			http.Error(w, "missing embedded file", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=86400")
		_, _ = w.Write(body)
	}
}
