package testkit_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// thingsRouter serves a small API built the ways the services build theirs: plain routes,
// a group with middleware, a sub-router, a regexp parameter, a trailing slash and a CORS
// preflight route, which the check ignores.
func thingsRouter() chi.Router {
	ok := func(w http.ResponseWriter, r *http.Request) {}
	r := chi.NewRouter()
	r.Get("/healthz", ok)
	r.Options("/things", ok)
	r.Group(func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler { return next })
		r.Post("/things", ok)
		r.Get("/things/{id:[0-9]+}", ok)
		r.Delete("/things/{id}/", ok)
	})
	r.Route("/shelves", func(r chi.Router) {
		r.Get("/", ok)
		r.Method(http.MethodPost, "/{shelfId}/things", http.HandlerFunc(ok))
	})
	return r
}

const thingsSpec = `{
  "openapi": "3.0.3",
  "info": {"title": "things", "version": "1"},
  "paths": {
    "/healthz": {"get": {"responses": {"200": {"description": "alive"}}}},
    "/things": {
      "options": {"responses": {"204": {"description": "preflight"}}},
      "post": {"responses": {"200": {"description": "created"}}}
    },
    "/things/{id}": {
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "summary": "one thing",
      "get": {"responses": {"200": {"description": "the thing"}}},
      "delete": {"responses": {"200": {"description": "deleted"}}}
    },
    "/shelves": {"get": {"responses": {"200": {"description": "shelves"}}}},
    "/shelves/{shelfId}/things": {"post": {"responses": {"200": {"description": "added"}}}}
  }
}`

func writeSpec(t *testing.T, spec string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.json")
	require.NoError(t, os.WriteFile(path, []byte(spec), 0o600))
	return path
}

// recorder is a testing.TB that records failures instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = true
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestCheckOpenAPIMatching(t *testing.T) {
	testkit.CheckOpenAPI(t, thingsRouter(), writeSpec(t, thingsSpec))

	missingInSpec, missingInCode, err := testkit.DiffOpenAPI(thingsRouter(), []byte(thingsSpec))
	require.NoError(t, err)
	assert.Empty(t, missingInSpec)
	assert.Empty(t, missingInCode)
}

func TestDiffOpenAPIMismatch(t *testing.T) {
	// The document forgets DELETE /things/{id}, names a parameter differently and documents
	// a route the code does not have.
	spec := strings.NewReplacer(
		`"delete": {"responses": {"200": {"description": "deleted"}}}`, `"put": {"responses": {"200": {"description": "replaced"}}}`,
		`/shelves/{shelfId}/things`, `/shelves/{id}/things`,
	).Replace(thingsSpec)

	missingInSpec, missingInCode, err := testkit.DiffOpenAPI(thingsRouter(), []byte(spec))
	require.NoError(t, err)
	assert.Equal(t, []string{"DELETE /things/{id}", "POST /shelves/{shelfId}/things"}, missingInSpec)
	assert.Equal(t, []string{"POST /shelves/{id}/things", "PUT /things/{id}"}, missingInCode)

	rec := &recorder{TB: t}
	testkit.CheckOpenAPI(rec, thingsRouter(), writeSpec(t, spec))
	require.Len(t, rec.errors, 2)
	assert.False(t, rec.fatal)
	assert.Contains(t, rec.errors[0], "missing from")
	assert.Contains(t, rec.errors[0], "DELETE /things/{id}")
	assert.Contains(t, rec.errors[1], "not served by the code")
	assert.Contains(t, rec.errors[1], "PUT /things/{id}")
}

func TestCheckOpenAPIBadInput(t *testing.T) {
	tests := map[string]struct {
		handler http.Handler
		spec    string
		want    string
	}{
		"not a chi router": {http.NotFoundHandler(), thingsSpec, "not a chi router"},
		"malformed JSON":   {thingsRouter(), `{"openapi": "3.0.3", "paths": `, "OpenAPI document"},
		"Swagger 2":        {thingsRouter(), `{"swagger": "2.0", "paths": {}}`, "want 3.x"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{TB: t}
			testkit.CheckOpenAPI(rec, tc.handler, writeSpec(t, tc.spec))
			assert.True(t, rec.fatal)
			require.Len(t, rec.errors, 1)
			assert.Contains(t, rec.errors[0], tc.want)
		})
	}

	rec := &recorder{TB: t}
	testkit.CheckOpenAPI(rec, thingsRouter(), filepath.Join(t.TempDir(), "missing.json"))
	assert.True(t, rec.fatal, "a missing spec file fails the test")
}
