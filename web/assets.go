package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// assetCacheControl lets browsers and proxies keep an asset for a year without asking again: its
// name changes with its content (style.<hash>.css), so a new version is a new URL.
const assetCacheControl = "public, max-age=31536000, immutable"

// asset is one embedded static file, as it is served.
type asset struct {
	url         string // /static/<base>.<hash><ext>
	contentType string
	hash        string
	body        []byte
	gzipped     []byte // nil when compressing does not pay (pictures already compressed, tiny files)
}

// assets are the storefront's static files (CSS, script, icon), each under a content-hashed name
// computed once at start-up from the embedded file. Templates reference them through the
// "asset" function; only the current names are served, any other is 404.
type assets struct {
	byName map[string]*asset // "style.css"
	byURL  map[string]*asset // "/static/style.0123456789ab.css"
}

func mustLoadAssets() *assets {
	sub, err := fs.Sub(staticFS, "static")
	if err == nil {
		var a *assets
		if a, err = loadAssets(sub); err == nil {
			return a
		}
	}
	// The files are part of the binary: failing to read them is a programming error found by
	// every test, so it may panic at start-up.
	panic(err)
}

func loadAssets(fsys fs.FS) (*assets, error) {
	a := &assets{byName: map[string]*asset{}, byURL: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:6])
		ext := path.Ext(name)
		f := &asset{
			url:         "/static/" + strings.TrimSuffix(name, ext) + "." + hash + ext,
			contentType: mime.TypeByExtension(ext),
			hash:        hash,
			body:        body,
		}
		if f.contentType == "" {
			f.contentType = http.DetectContentType(body)
		}
		if f.gzipped, err = gzipIfSmaller(body, f.contentType); err != nil {
			return err
		}
		a.byName[name] = f
		a.byURL[f.url] = f
		return nil
	})
	return a, err
}

// gzipIfSmaller compresses a text file (CSS, JavaScript, SVG) once, at start-up; nil when the
// type is already compressed or compressing saves too little to be worth a header.
func gzipIfSmaller(body []byte, contentType string) ([]byte, error) {
	text := strings.HasPrefix(contentType, "text/") || strings.Contains(contentType, "javascript") ||
		strings.Contains(contentType, "svg") || strings.Contains(contentType, "json")
	if !text {
		return nil, nil
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if buf.Len()+64 >= len(body) {
		return nil, nil
	}
	return buf.Bytes(), nil
}

// URL is the content-hashed address of the static file name ("style.css"). An unknown name is
// an error, so a template that misspells one fails in every test.
func (a *assets) URL(name string) (string, error) {
	f, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return f.url, nil
}

// ServeHTTP serves a static file by its hashed name, gzipped when the browser accepts it.
func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	f, ok := a.byURL[r.URL.Path]
	if !ok {
		// An old version's name or no such file: a year-long cache must never hold a wrong body.
		h.Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	}
	h.Set("Cache-Control", assetCacheControl)
	h.Set("Content-Type", f.contentType)
	body, etag := f.body, `"`+f.hash+`"`
	if f.gzipped != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			body, etag = f.gzipped, `"`+f.hash+`.gz"`
		}
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// acceptsGzip tells whether an Accept-Encoding header allows gzip (a "gzip;q=0" refuses it).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}
