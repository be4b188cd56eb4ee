package deploy

import (
	"context"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// specRoutes is SPEC §3, service by service. Each service's openapi_test.go checks its
// document against its router; this checks the documents against the contract.
var specRoutes = map[string][]string{
	"auth": {
		"POST /users/signup", "POST /users/signin", "GET /users/signout", "GET /users/current",
		"POST /users/password", "GET /users/all", "POST /users/{userId}/enable",
		"POST /users/{userId}/disable", "POST /users/{userId}/grant", "POST /users/{userId}/revoke",
		"POST /users/{userId}/signout", "GET /users/sessions", "DELETE /users/sessions", "DELETE /users/sessions/{sessionId}",
	},
	"image": {"POST /images/create", "GET /images/{id}", "GET /images/{id}/jpeg"},
	"catalog": {
		"GET /articles/{id}", "GET /articles/search/{criteria}", "GET /articles", "POST /articles",
		"POST /articles/{id}", "DELETE /articles/{id}",
	},
	"cart": {
		"GET /cart", "POST /cart/article", "POST /cart/article/{articleId}/increment",
		"POST /cart/article/{articleId}/decrement", "DELETE /cart/article/{articleId}",
		"GET /cart/validate", "POST /cart/checkout",
	},
	"orders": {
		"GET /orders", "GET /orders/{orderId}", "POST /orders/{orderId}/payment",
		"POST /orders/{orderId}/cancel", "POST /orders/{orderId}/ship", "POST /orders/{orderId}/deliver",
		"GET /orders/{orderId}/update", "GET /orders/status",
	},
}

// quotaOperations are the operations refused past a per-account quota (SPEC §2).
var quotaOperations = map[string][]string{
	"image": {"POST /images/create"},
	"cart":  {"POST /cart/checkout"},
}

// operational are the endpoints every service serves (SPEC §2): health, readiness, metrics,
// and its own API document with the interactive page that shows it.
var operational = []string{"GET /healthz", "GET /readyz", "GET /metrics",
	"GET /openapi.json", "GET /docs", "GET /docs/index.html", "GET /docs/assets/{file}"}

func loadOpenAPI(t *testing.T, service string) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join("openapi", service+".json"))
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()), "a valid OpenAPI document")
	return doc
}

// operations lists a document's "METHOD /path" operations, sorted.
func operations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

func TestOpenAPIDocuments(t *testing.T) {
	for _, svc := range fleet {
		t.Run(svc.name, func(t *testing.T) {
			doc := loadOpenAPI(t, svc.name)
			assert.Equal(t, "3.0.3", doc.OpenAPI)

			want := slices.Concat(specRoutes[svc.name], operational)
			slices.Sort(want)
			assert.Equal(t, want, operations(doc), "the operations of SPEC §3 and §2")

			require.Len(t, doc.Servers, 1)
			u, err := url.Parse(doc.Servers[0].URL)
			require.NoError(t, err)
			assert.Equal(t, svc.port, u.Port(), "the server is on the service's port")

			scheme := doc.Components.SecuritySchemes["bearerAuth"]
			require.NotNil(t, scheme, "a bearerAuth security scheme")
			assert.Equal(t, "bearer", scheme.Value.Scheme)
			assert.Equal(t, "JWT", scheme.Value.BearerFormat)

			validation := doc.Components.Schemas["ValidationError"]
			require.NotNil(t, validation, "the validation error body of SPEC §2")
			assert.ElementsMatch(t, []string{"error", "code", "messages"}, validation.Value.Required)
			messages := validation.Value.Properties["messages"].Value.Items.Value
			assert.ElementsMatch(t, []string{"path", "message", "code"}, messages.Required)
			errorBody := doc.Components.Schemas["Error"]
			require.NotNil(t, errorBody, "the error body of SPEC §2")
			assert.ElementsMatch(t, []string{"error", "code"}, errorBody.Value.Required)

			for _, name := range quotaOperations[svc.name] {
				method, path, _ := strings.Cut(name, " ")
				op := doc.Paths.Find(path).GetOperation(method)
				require.NotNil(t, op, name)
				limited := op.Responses.Value("429")
				require.NotNil(t, limited, "%s has a quota: documents 429", name)
				assert.NotNil(t, limited.Value.Headers["Retry-After"], "%s: 429 says Retry-After", name)
			}

			for path, item := range doc.Paths.Map() {
				for method, op := range item.Operations() {
					name := method + " " + path
					assert.NotNil(t, op.Responses.Value("200"), "%s documents its success", name)
					secured := op.Security != nil && len(*op.Security) > 0
					if secured {
						assert.NotNil(t, op.Responses.Value("401"), "%s needs a token: documents 401", name)
					}
					if op.RequestBody != nil {
						assert.NotNil(t, op.Responses.Value("400"), "%s takes a body: documents 400", name)
					}
					if slices.Contains(operational, name) {
						assert.False(t, secured, "%s is public", name)
					}
					for _, segment := range strings.Split(path, "/") {
						if p, ok := strings.CutPrefix(segment, "{"); ok {
							param := strings.TrimSuffix(p, "}")
							assert.NotNil(t, op.Parameters.GetByInAndName("path", param), "%s declares {%s}", name, param)
						}
					}
				}
			}
		})
	}
}
