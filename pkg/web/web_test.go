package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/correlation"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

type signup struct {
	Name  string `json:"name"`
	Login string `json:"login"`
	Age   int    `json:"age"`
}

func decodeHandler(log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in, err := web.Decode[signup](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.Encode(w, http.StatusOK, in)
	}
}

func TestDecode(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		wantError   string
		wantPath    string
	}{
		{name: "valid", contentType: "application/json", body: `{"name":"Ana","login":"ana1"}`, status: 200},
		{name: "unknown fields ignored", body: `{"name":"Ana","_id":"x","permissions":["admin"]}`, status: 200},
		{name: "charset parameter", contentType: "application/json; charset=utf-8", body: `{}`, status: 200},
		{name: "malformed", body: `{"name":`, status: 400, wantError: "malformed JSON"},
		{name: "not JSON", body: `hello`, status: 400, wantError: "malformed JSON"},
		{name: "empty", body: ``, status: 400, wantError: "empty body"},
		{name: "two values", body: `{}{}`, status: 400, wantError: "single JSON value"},
		{name: "wrong type", body: `{"age":"ten"}`, status: 400, wantPath: "age"},
		{name: "array body", body: `[1,2]`, status: 400},
		{name: "too large", body: `{"name":"` + strings.Repeat("a", web.MaxBodyBytes) + `"}`, status: 413},
		{name: "wrong content type", contentType: "multipart/form-data; boundary=x", body: `{}`, status: 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			rec := httptest.NewRecorder()
			decodeHandler(log)(rec, req)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			assert.Contains(t, rec.Header().Get("Content-Type"), "application/json")
			var body struct {
				Error    string              `json:"error"`
				Messages []errs.FieldProblem `json:"messages"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			if tc.status >= 400 {
				assert.NotEmpty(t, body.Error)
			}
			if tc.wantError != "" {
				assert.Contains(t, body.Error, tc.wantError)
			}
			if tc.wantPath != "" {
				require.Len(t, body.Messages, 1)
				assert.Equal(t, tc.wantPath, body.Messages[0].Path)
			}
		})
	}
}

func TestErrorStatuses(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	v := &errs.Validation{}
	v.Add("name", errs.Break(errs.RuleRequired))
	tests := []struct {
		err     error
		status  int
		message string
		code    string
	}{
		{errs.Newf(errs.NotFound, "article %d not found", 42), 404, "article 42 not found", "not_found"},
		{fmt.Errorf("sign-up: %w", errs.Newf(errs.Conflict, "login taken").WithCode(errs.CodeLoginTaken)), 409, "login taken", "login_taken"},
		{errs.Newf(errs.Unauthorized, "bad token"), 401, "bad token", "unauthorized"},
		// Only an errs.Error's message reaches the client, never the text around a kind.
		{fmt.Errorf("user secret internal detail: %w", errs.NotFound), 404, "not found", "not_found"},
		{errs.Forbidden, 403, "forbidden", "forbidden"},
		{errs.RateLimited, 429, "too many requests", "rate_limited"},
		{fmt.Errorf("mongo: %w", errs.Unavailable), 503, "unavailable", "unavailable"},
		{v, 400, "validation failed", "validation_failed"},
		{errors.New("secret internal detail"), 500, "internal error", "internal_error"},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		web.Error(rec, httptest.NewRequest(http.MethodGet, "/", nil), log, tc.err)
		assert.Equal(t, tc.status, rec.Code)
		var body map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		assert.Contains(t, body["error"], tc.message)
		assert.Equal(t, tc.code, body["code"], "code of %v", tc.err)
		assert.NotContains(t, rec.Body.String(), "secret internal detail")
		assert.Empty(t, rec.Header().Get("Retry-After"), "only a RateLimited error with a pause has one")
	}
}

// A RateLimited error with a pause answers Retry-After in whole seconds, rounded up.
func TestErrorRetryAfter(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		after time.Duration
		want  string
	}{
		{37 * time.Second, "37"},
		{1500 * time.Millisecond, "2"},
		{time.Millisecond, "1"},
		{59*time.Minute + 59*time.Second + time.Millisecond, "3600"},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		err := fmt.Errorf("quota: %w", errs.RateLimitedf(tc.after, "too many uploads"))
		web.Error(rec, httptest.NewRequest(http.MethodPost, "/", nil), log, err)
		assert.Equal(t, http.StatusTooManyRequests, rec.Code)
		assert.Equal(t, tc.want, rec.Header().Get("Retry-After"), "after %s", tc.after)
		assert.JSONEq(t, `{"error":"too many uploads","code":"rate_limited"}`, rec.Body.String())
	}
}

func TestErrorWhenClientLeft(t *testing.T) {
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	web.Error(rec, req, log, fmt.Errorf("%w: read: %w", errs.Unavailable, context.Canceled))
	assert.Equal(t, web.StatusClientClosedRequest, rec.Code)
	assert.NotContains(t, logged.String(), "level=ERROR")
}

func newRouter(t *testing.T, checks map[string]web.ReadyCheck) http.Handler {
	r := web.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)), metrics.New("test"), checks)
	r.Get("/panic", func(http.ResponseWriter, *http.Request) { panic("boom: secret") })
	r.Get("/correlation", func(w http.ResponseWriter, r *http.Request) {
		web.Encode(w, 200, map[string]string{"id": correlation.ID(r.Context())})
	})
	return r
}

func TestRouter(t *testing.T) {
	down := map[string]web.ReadyCheck{"store": func(context.Context) error { return errors.New("down") }}
	up := map[string]web.ReadyCheck{"store": func(context.Context) error { return nil }}

	t.Run("panic is a 500 without detail", func(t *testing.T) {
		rec := httptest.NewRecorder()
		newRouter(t, up).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/panic", nil))
		assert.Equal(t, 500, rec.Code)
		assert.JSONEq(t, `{"error":"internal error","code":"internal_error"}`, rec.Body.String())
	})
	t.Run("correlation id from header, echoed", func(t *testing.T) {
		for _, h := range []string{"X-Correlation-Id", "correlation_id"} {
			req := httptest.NewRequest(http.MethodGet, "/correlation", nil)
			req.Header.Set(h, "abc-123")
			rec := httptest.NewRecorder()
			newRouter(t, up).ServeHTTP(rec, req)
			assert.JSONEq(t, `{"id":"abc-123"}`, rec.Body.String())
			assert.Equal(t, "abc-123", rec.Header().Get("X-Correlation-Id"))
		}
	})
	t.Run("new correlation id when none", func(t *testing.T) {
		rec := httptest.NewRecorder()
		newRouter(t, up).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/correlation", nil))
		assert.Len(t, rec.Header().Get("X-Correlation-Id"), 36)
	})
	t.Run("CORS preflight", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodOptions, "/correlation", nil)
		req.Header.Set("Origin", "http://elsewhere")
		req.Header.Set("Access-Control-Request-Method", "POST")
		rec := httptest.NewRecorder()
		newRouter(t, up).ServeHTTP(rec, req)
		assert.Equal(t, 204, rec.Code)
		assert.Equal(t, "*", rec.Header().Get("Access-Control-Allow-Origin"))
		assert.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "Size")
		assert.Contains(t, rec.Header().Get("Access-Control-Expose-Headers"), "X-Total-Count", "browsers let clients read a page's total")
	})
	t.Run("every request that changes something has a deadline", func(t *testing.T) {
		r := web.NewRouter(slog.New(slog.DiscardHandler), metrics.New("test"), up)
		var deadline time.Time
		r.Post("/deadline", func(w http.ResponseWriter, req *http.Request) {
			deadline, _ = req.Context().Deadline()
			web.Error(w, req, slog.New(slog.DiscardHandler), fmt.Errorf("waited: %w", context.DeadlineExceeded))
		})
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/deadline", nil))
		assert.WithinDuration(t, time.Now().Add(web.RequestTimeout), deadline, web.RequestTimeout/2)
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "a dependency too slow for the deadline")
	})
	t.Run("HEAD on a GET route", func(t *testing.T) {
		rec := httptest.NewRecorder()
		newRouter(t, up).ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/healthz", nil))
		assert.Equal(t, 200, rec.Code)
	})
	t.Run("unknown route is a JSON 404", func(t *testing.T) {
		rec := httptest.NewRecorder()
		newRouter(t, up).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nope", nil))
		assert.Equal(t, 404, rec.Code)
		assert.Contains(t, rec.Body.String(), `"error"`)
	})
	t.Run("healthz and readyz", func(t *testing.T) {
		rec := httptest.NewRecorder()
		newRouter(t, up).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		assert.Equal(t, 200, rec.Code)
		rec = httptest.NewRecorder()
		newRouter(t, up).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		assert.Equal(t, 200, rec.Code)
		rec = httptest.NewRecorder()
		newRouter(t, down).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		assert.Equal(t, 503, rec.Code)
		assert.JSONEq(t, `{"store":"down"}`, rec.Body.String())
		stuck := map[string]web.ReadyCheck{"store": func(context.Context) error { return fmt.Errorf("%w: waited 12s", errs.Stuck) }}
		rec = httptest.NewRecorder()
		newRouter(t, stuck).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		assert.Equal(t, 503, rec.Code)
		assert.JSONEq(t, `{"store":"stuck"}`, rec.Body.String(), "a dependency that stopped answering says so")
	})
	t.Run("metrics count requests by route", func(t *testing.T) {
		h := newRouter(t, up)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/correlation", nil))
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.RemoteAddr = "127.0.0.1:5000"
		h.ServeHTTP(rec, req)
		assert.Contains(t, rec.Body.String(), `http_requests_total{method="GET",route="/correlation",service="test",status="200"} 1`)
	})
}

// /metrics answers only peers of the allow list (loopback and private ranges by default),
// judged by the TCP peer, never by a header, and never a request relayed by a proxy.
func TestMetricsOnlyFromAllowedPeers(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	byDefault := web.Basics{Log: log, Metrics: metrics.New("test")}.NewRouter()
	onlyTen := web.Basics{Log: log, Metrics: metrics.New("test"), MetricsAllow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}.NewRouter()
	custom404 := web.Basics{Log: log, Metrics: metrics.New("test")}.NewRouter()
	custom404.NotFound(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "the shop's own 404", 404) })
	tests := []struct {
		name   string
		router http.Handler
		peer   string
		header map[string]string
		want   int
	}{
		{"loopback", byDefault, "127.0.0.1:5000", nil, 200},
		{"IPv6 loopback", byDefault, "[::1]:5000", nil, 200},
		{"private 10/8", byDefault, "10.2.3.4:5000", nil, 200},
		{"private 172.16/12", byDefault, "172.20.0.5:5000", nil, 200},
		{"private 192.168/16", byDefault, "192.168.1.9:5000", nil, 200},
		{"IPv6 unique local", byDefault, "[fd00::5]:5000", nil, 200},
		{"IPv4-mapped private", byDefault, "[::ffff:10.0.0.1]:5000", nil, 200},
		{"public peer", byDefault, "203.0.113.9:5000", nil, 404},
		{"public IPv6 peer", byDefault, "[2001:db8::1]:5000", nil, 404},
		{"public peer naming a private client", byDefault, "203.0.113.9:5000", map[string]string{"X-Forwarded-For": "127.0.0.1"}, 404},
		{"relayed by a private proxy", byDefault, "10.0.0.7:5000", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 404},
		{"relayed, Forwarded header", byDefault, "10.0.0.7:5000", map[string]string{"Forwarded": "for=203.0.113.9"}, 404},
		{"relayed, X-Real-IP", byDefault, "10.0.0.7:5000", map[string]string{"X-Real-IP": "203.0.113.9"}, 404},
		{"no peer address", byDefault, "@", nil, 404},
		{"allow list: in", onlyTen, "10.1.2.3:5000", nil, 200},
		{"allow list: replaces the default", onlyTen, "127.0.0.1:5000", nil, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.RemoteAddr = tc.peer
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			tc.router.ServeHTTP(rec, req)
			assert.Equal(t, tc.want, rec.Code)
			if tc.want == 200 {
				assert.Contains(t, rec.Body.String(), "# TYPE")
			} else {
				assert.NotContains(t, rec.Body.String(), "# TYPE")
			}
		})
	}
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil) // from 192.0.2.1, a public address
	rec := httptest.NewRecorder()
	custom404.ServeHTTP(rec, req)
	assert.Equal(t, 404, rec.Code)
	assert.Contains(t, rec.Body.String(), "the shop's own 404", "a refusal is the router's own 404")
}

func TestBearerToken(t *testing.T) {
	for header, want := range map[string]string{
		"Bearer abc": "abc", "bearer abc": "abc", "BEARER  abc ": "abc",
		"Basic abc": "", "Bearer": "", "": "", "abc": "",
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", header)
		assert.Equal(t, want, web.BearerToken(req), header)
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range []string{`{"name":"a"}`, `{"age":1e309}`, `[`, `{"name":null}`, "\x00", `{"age":-1}`} {
		f.Add(seed)
	}
	for _, seed := range testkit.AnyJSON() {
		f.Add(seed)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		decodeHandler(log)(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		if rec.Code != 200 && rec.Code != 400 && rec.Code != 413 {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

func TestDocs(t *testing.T) {
	r := chi.NewRouter()
	spec := []byte(`{"openapi":"3.0.3","paths":{}}`)
	web.AddDocs(r, spec)
	srv := httptest.NewServer(r)
	defer srv.Close()
	get := func(path string) (int, string, string) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}
	status, ct, body := get("/openapi.json")
	assert.Equal(t, 200, status)
	assert.Contains(t, ct, "application/json")
	assert.Equal(t, string(spec), body)
	for _, page := range []string{"/docs/", "/docs/index.html"} {
		status, ct, body = get(page)
		assert.Equal(t, 200, status, page)
		assert.Contains(t, ct, "text/html", page)
		assert.Contains(t, body, `<div id="swagger-ui">`, page)
	}
	// Every asset the page names is served from the binary.
	for _, asset := range []string{"assets/swagger-ui.css", "assets/swagger-ui-bundle.js", "assets/docs.js"} {
		assert.Contains(t, body, asset)
		status, _, content := get("/docs/" + asset)
		assert.Equal(t, 200, status, asset)
		assert.NotEmpty(t, content, asset)
	}
	_, _, script := get("/docs/assets/docs.js")
	assert.Contains(t, script, `"/openapi.json"`, "the page reads this service's own document")
	status, _, _ = get("/docs/assets/../../go.mod")
	assert.Equal(t, 404, status)
	status, _, _ = get("/docs/assets/LICENSE")
	assert.Equal(t, 404, status)
	// /docs (the documents' path) redirects to the page, whose assets are relative to /docs/.
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/docs", nil))
	assert.Equal(t, http.StatusMovedPermanently, rec.Code)
	assert.Equal(t, "/docs/", rec.Header().Get("Location"))
}

// Handle answers a returned error as Error would, and leaves a handler's own answer alone.
func TestHandle(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	failing := web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		return errs.Newf(errs.NotFound, "article 7 not found")
	})
	rec := httptest.NewRecorder()
	failing.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.JSONEq(t, `{"error":"article 7 not found","code":"not_found"}`, rec.Body.String())

	answering := web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		web.Encode(w, http.StatusCreated, map[string]string{"id": "7"})
		return nil
	})
	rec = httptest.NewRecorder()
	answering.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusCreated, rec.Code)
	assert.JSONEq(t, `{"id":"7"}`, rec.Body.String())
}
