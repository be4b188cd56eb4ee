package deploy

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type postmanItem struct {
	Name    string        `json:"name"`
	Item    []postmanItem `json:"item"`
	Request *struct {
		Method string `json:"method"`
		URL    struct {
			Raw  string   `json:"raw"`
			Host []string `json:"host"`
			Path []string `json:"path"`
		} `json:"url"`
		Auth *struct {
			Type string `json:"type"`
		} `json:"auth"`
	} `json:"request"`
	Event []struct {
		Listen string `json:"listen"`
		Script struct {
			Exec []string `json:"exec"`
		} `json:"script"`
	} `json:"event"`
}

type postmanCollection struct {
	Info struct {
		Name   string `json:"name"`
		Schema string `json:"schema"`
	} `json:"info"`
	Item     []postmanItem `json:"item"`
	Variable []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"variable"`
}

// flatten lists the requests of the collection in run order.
func flatten(items []postmanItem) []postmanItem {
	var out []postmanItem
	for _, it := range items {
		if it.Request != nil {
			out = append(out, it)
		}
		out = append(out, flatten(it.Item)...)
	}
	return out
}

// serviceOfURL maps a request's host variable to the service it calls.
var serviceOfURL = map[string]string{
	"{{authUrl}}": "auth", "{{imageUrl}}": "image", "{{catalogUrl}}": "catalog",
	"{{cartUrl}}": "cart", "{{ordersUrl}}": "orders",
}

// documented finds the OpenAPI operation a Postman request calls: the same method and
// segments, a {{variable}} segment standing for a {parameter}. It returns "" when none.
func documented(method string, segments []string, operations []string) string {
	for _, op := range operations {
		opMethod, path, _ := strings.Cut(op, " ")
		opSegments := strings.Split(strings.TrimPrefix(path, "/"), "/")
		if opMethod != method || len(opSegments) != len(segments) {
			continue
		}
		match := true
		for i, s := range segments {
			isParam := strings.HasPrefix(opSegments[i], "{")
			isVar := strings.HasPrefix(s, "{{")
			if s != opSegments[i] && !(isParam && isVar) {
				match = false
				break
			}
		}
		if match {
			return op
		}
	}
	return ""
}

var setsVariable = regexp.MustCompile(`pm\.collectionVariables\.set\("(\w+)"`)

func TestPostmanCollection(t *testing.T) {
	raw, err := os.ReadFile("postman/ecommerce.postman_collection.json")
	require.NoError(t, err)
	var c postmanCollection
	require.NoError(t, json.Unmarshal(raw, &c))
	assert.Equal(t, "https://schema.getpostman.com/json/collection/v2.1.0/collection.json", c.Info.Schema)

	vars := map[string]string{}
	for _, v := range c.Variable {
		vars[v.Key] = v.Value
	}
	for _, key := range []string{"authUrl", "imageUrl", "catalogUrl", "cartUrl", "ordersUrl",
		"adminToken", "token", "articleId", "imageId", "orderId"} {
		assert.Contains(t, vars, key, "collection variable %s", key)
	}
	for host, svc := range serviceOfURL {
		port := ""
		for _, f := range fleet {
			if f.name == svc {
				port = f.port
			}
		}
		assert.Equal(t, "http://localhost:"+port, vars[strings.Trim(host, "{}")])
	}

	opsOf := map[string][]string{}
	for _, svc := range fleet {
		opsOf[svc.name] = operations(loadOpenAPI(t, svc.name))
	}

	var called []string
	set := map[string]bool{}
	for _, it := range flatten(c.Item) {
		r := it.Request
		require.Len(t, r.URL.Host, 1, it.Name)
		svc, ok := serviceOfURL[r.URL.Host[0]]
		require.True(t, ok, "%s calls one of the five services through its URL variable", it.Name)
		op := documented(r.Method, r.URL.Path, opsOf[svc])
		assert.NotEmpty(t, op, "%s: %s %s is in openapi/%s.json", it.Name, r.Method, r.URL.Raw, svc)
		called = append(called, svc+" "+op)

		require.NotNil(t, r.Auth, "%s says how it authenticates", it.Name)
		var tested bool
		for _, e := range it.Event {
			if e.Listen != "test" {
				continue
			}
			script := strings.Join(e.Script.Exec, "\n")
			tested = tested || strings.Contains(script, "pm.response.to.have.status(")
			for _, m := range setsVariable.FindAllStringSubmatch(script, -1) {
				set[m[1]] = true
			}
		}
		assert.True(t, tested, "%s checks the status", it.Name)
	}

	// The story of the issue, in order.
	story := []string{
		"auth POST /users/signin", "image POST /images/create", "catalog POST /articles",
		"auth POST /users/signup", "catalog GET /articles/search/{criteria}", "cart POST /cart/article",
		"cart GET /cart/validate", "cart POST /cart/checkout", "orders GET /orders",
		"orders POST /orders/{orderId}/payment", "auth GET /users/signout",
	}
	next := 0
	for _, op := range called {
		if next < len(story) && op == story[next] {
			next++
		}
	}
	assert.Equal(t, len(story), next, "the requests tell the story in order; missing from %v", story[min(next, len(story)-1)])

	for _, v := range []string{"adminToken", "token", "imageId", "articleId", "orderId"} {
		assert.True(t, set[v], "a test script stores %s from a response", v)
	}
	assert.True(t, slices.Contains(called, "orders GET /orders/{orderId}"), "the order is looked at")
}
