package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// CheckOpenAPI fails the test when the routes that handler (a chi router) serves and the paths
// of the OpenAPI 3 JSON document specFile differ, listing what is in the code but not in the
// document and what is in the document but not in the code. OPTIONS (CORS preflight) is ignored.
// When handler serves GET /openapi.json, that must be specFile byte for byte (a service embeds
// a copy of its deploy/openapi file; `go generate` refreshes it).
func CheckOpenAPI(t testing.TB, handler http.Handler, specFile string) {
	t.Helper()
	routes, ok := handler.(chi.Routes)
	if !ok {
		t.Fatalf("CheckOpenAPI: %T is not a chi router", handler)
		return
	}
	spec, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatalf("CheckOpenAPI: %v", err)
		return
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code == http.StatusOK && !bytes.Equal(rec.Body.Bytes(), spec) {
		t.Errorf("GET /openapi.json is not %s: run `go generate` in the service to copy it again", specFile)
	}
	checkOpenAPICodes(t, spec, specFile)
	missingInSpec, missingInCode, err := DiffOpenAPI(routes, spec)
	if err != nil {
		t.Fatalf("CheckOpenAPI %s: %v", specFile, err)
		return
	}
	if len(missingInSpec) > 0 {
		t.Errorf("routes served by the code but missing from %s:\n\t%s", specFile, strings.Join(missingInSpec, "\n\t"))
	}
	if len(missingInCode) > 0 {
		t.Errorf("routes in %s but not served by the code:\n\t%s", specFile, strings.Join(missingInCode, "\n\t"))
	}
}

// DiffOpenAPI compares the routes of a chi router with the paths of an OpenAPI 3 JSON document.
// Both lists hold "METHOD /path" entries, sorted.
func DiffOpenAPI(routes chi.Routes, spec []byte) (missingInSpec, missingInCode []string, err error) {
	inCode, err := RouterRoutes(routes)
	if err != nil {
		return nil, nil, err
	}
	inSpec, err := OpenAPIRoutes(spec)
	if err != nil {
		return nil, nil, err
	}
	return without(inCode, inSpec), without(inSpec, inCode), nil
}

// RouterRoutes lists the "METHOD /path" routes a chi router serves, sorted, without OPTIONS.
// Paths are normalised: no trailing slash, and a regexp parameter {id:[0-9]+} becomes {id}.
func RouterRoutes(routes chi.Routes) ([]string, error) {
	var out []string
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method != http.MethodOptions {
			out = append(out, method+" "+normalisePath(route))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sortedUnique(out), nil
}

// openAPIMethods are the operation keys of an OpenAPI path item; other keys (parameters,
// summary, servers…) are not operations.
var openAPIMethods = []string{"get", "put", "post", "delete", "patch", "head", "trace"}

// OpenAPIRoutes lists the "METHOD /path" operations of an OpenAPI 3 JSON document, sorted,
// without OPTIONS.
func OpenAPIRoutes(spec []byte) ([]string, error) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("OpenAPI document: %w", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		return nil, fmt.Errorf("OpenAPI document: version %q, want 3.x", doc.OpenAPI)
	}
	var out []string
	for path, item := range doc.Paths {
		for key := range item {
			if slices.Contains(openAPIMethods, key) {
				out = append(out, strings.ToUpper(key)+" "+normalisePath(path))
			}
		}
	}
	return sortedUnique(out), nil
}

var regexpParam = regexp.MustCompile(`\{([^}:]+):[^}]*\}`)

func normalisePath(p string) string {
	p = regexpParam.ReplaceAllString(p, "{$1}")
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// without returns the elements of a that are not in b (both sorted).
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

// checkOpenAPICodes fails the test when a document that describes errors (an Error schema)
// has ErrorCode and RuleCode schemas that do not list exactly the codes and rules pkg/errs
// declares, in its order (SPEC §2: mobile clients read them there).
func checkOpenAPICodes(t testing.TB, spec []byte, specFile string) {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		return // DiffOpenAPI reports it
	}
	if _, documentsErrors := doc.Components.Schemas["Error"]; !documentsErrors {
		return // not a service's document (the tests of this package use small ones)
	}
	var codes, rules []string
	for _, c := range errs.Codes() {
		codes = append(codes, c.String())
	}
	for _, r := range errs.Rules() {
		rules = append(rules, r.String())
	}
	if got := doc.Components.Schemas["ErrorCode"].Enum; !slices.Equal(got, codes) {
		t.Errorf("%s: the ErrorCode enum is not the codes pkg/errs declares:\n\tdocument: %v\n\tdeclared: %v", specFile, got, codes)
	}
	if got := doc.Components.Schemas["RuleCode"].Enum; !slices.Equal(got, rules) {
		t.Errorf("%s: the RuleCode enum is not the rules pkg/errs declares:\n\tdocument: %v\n\tdeclared: %v", specFile, got, rules)
	}
}
