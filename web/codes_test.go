package web

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/web/api"
)

// Every code and rule a service can send (pkg/errs declares them all; every service's tests
// fail on one it does not declare) has a translation in every language, which places exactly
// the rule's params; the languages have the same keys.
func TestEveryCodeIsTranslated(t *testing.T) {
	placeholder := regexp.MustCompile(`\{([a-zA-Z]+)\}`)
	for _, lang := range languages {
		for _, c := range errs.Codes() {
			msg, ok := codeText(lang, "code."+c.String())
			assert.True(t, ok && msg != "", "code %s has no %s translation", c, lang)
		}
		for _, r := range errs.Rules() {
			msg, ok := codeText(lang, "rule."+r.String())
			if !assert.True(t, ok, "rule %s has no %s translation", r, lang) {
				continue
			}
			var placed []string
			for _, m := range placeholder.FindAllStringSubmatch(msg, -1) {
				placed = append(placed, m[1])
			}
			assert.ElementsMatch(t, r.Params(), placed, "%s translation of rule %s: %q", lang, r, msg)
		}
	}
	en := slices.Sorted(maps.Keys(codeMessages["en"]))
	for _, lang := range languages {
		assert.Equal(t, en, slices.Sorted(maps.Keys(codeMessages[lang])), lang)
	}
}

// A service's error, decoded as the api client decodes it, reads in the page's language with
// its params in place; an unknown code or rule keeps the service's own words.
func TestAPIProblemIsTranslated(t *testing.T) {
	decode := func(body string) *api.Error {
		e := &api.Error{Service: "test", Status: 400}
		require.NoError(t, json.Unmarshal([]byte(body), e))
		return e
	}
	signup := decode(`{"error":"validation failed","code":"validation_failed","messages":[
		{"path":"password","message":"must be 8 to 72 bytes","code":"length","params":{"min":8,"max":72}},
		{"path":"login","message":"must be a string","code":"type","params":{"type":"string"}},
		{"path":"name","message":"some new rule","code":"some_new_rule","params":{"x":1}}]}`)
	summary, fields := apiProblem("es", signup)
	assert.Empty(t, summary, "the fields say it all")
	assert.Equal(t, map[string]string{"password": "debe tener entre 8 y 72 bytes", "login": "debe ser un texto", "name": "some new rule"}, fields)
	summary, fields = apiProblem("en", signup)
	assert.Empty(t, summary)
	assert.Equal(t, "must be 8 to 72 bytes", fields["password"])

	payment := decode(`{"error":"invalid payment","code":"validation_failed","messages":[
		{"path":"method","message":"must be CASH, CREDIT or DEBIT","code":"one_of","params":{"values":["CASH","CREDIT","DEBIT"]}},
		{"path":"amount","message":"must be greater than 0","code":"greater_than","params":{"min":0}}]}`)
	_, fields = apiProblem("es", payment)
	assert.Equal(t, map[string]string{"method": "debe ser CASH, CREDIT o DEBIT", "amount": "debe ser mayor que 0"}, fields)

	due := decode(`{"error":"the payment exceeds the amount due","code":"exceeds_amount_due","messages":[
		{"path":"amount","message":"must be at most the amount due, 11.9","code":"exceeds_amount_due","params":{"amountDue":11.9}}]}`)
	summary, fields = apiProblem("es", due)
	assert.Equal(t, "El pago supera el importe pendiente.", summary)
	assert.Equal(t, "debe ser como mucho el importe pendiente, "+(&view{lang: "es"}).Money(1190), fields["amount"])

	taken := decode(`{"error":"login \"ana\" is already taken","code":"login_taken"}`)
	summary, fields = apiProblem("es", taken)
	assert.Equal(t, "Ese usuario ya existe: elige otro.", summary)
	assert.Empty(t, fields)
	summary, _ = apiProblem("es", decode(`{"error":"something new","code":"brand_new_code"}`))
	assert.Equal(t, "something new", summary, "an unknown code falls back to the service's text")

	assert.Equal(t, "No hay stock suficiente para esta cantidad.",
		lineMessage("es", api.LineProblem{ArticleID: "a", Message: "not enough stock", Code: errs.CodeNotEnoughStock}))
	assert.Equal(t, "administrador", permissionName("es", "admin"))
	assert.Equal(t, "auditor", permissionName("es", "auditor"), "a permission the shop has no name for")
}

// A refused sign-up shows the service's field messages in the page's language, on the form.
func TestFormProblemIsInThePageLanguage(t *testing.T) {
	refused := &api.Error{Service: "auth", Status: 400}
	require.NoError(t, json.Unmarshal([]byte(`{"error":"validation failed","code":"validation_failed","messages":[
		{"path":"password","message":"must be 8 to 72 bytes","code":"length","params":{"min":8,"max":72}}]}`), refused))
	p := mustParsePages(nil, nil)
	for lang, want := range map[string]string{"es": "debe tener entre 8 y 72 bytes", "en": "must be 8 to 72 bytes"} {
		r := httptest.NewRequest("POST", "/signup", nil)
		r = r.WithContext(context.WithValue(r.Context(), visitKey{}, &visit{lang: lang}))
		v := &view{lang: lang, Title: "signup.title", Form: url.Values{"login": {"ana"}}}
		require.True(t, formProblem(r, v, refused))
		var buf bytes.Buffer
		require.NoError(t, p.execute(&buf, "signup", v))
		assert.Contains(t, buf.String(), want, lang)
		if lang == "es" {
			assert.NotContains(t, buf.String(), "must be 8 to 72 bytes")
			assert.NotContains(t, buf.String(), "validation failed")
		}
	}
}
