package errs_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// Every code and rule has a unique snake_case name, and every rule's English message places
// exactly the params it declares, so a translation can place them too.
func TestDeclaredCodesAndRules(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range errs.Codes() {
		assert.Regexp(t, snakeCase, c.String())
		assert.False(t, seen[c.String()], "code %s declared twice", c)
		seen[c.String()] = true
		assert.True(t, c.Declared())
	}
	seen = map[string]bool{}
	placeholder := regexp.MustCompile(`\{([a-zA-Z]+)\}`)
	for _, r := range errs.Rules() {
		assert.Regexp(t, snakeCase, r.String())
		assert.False(t, seen[r.String()], "rule %s declared twice", r)
		seen[r.String()] = true
		var placed []string
		for _, m := range placeholder.FindAllStringSubmatch(r.Text(), -1) {
			placed = append(placed, m[1])
		}
		assert.ElementsMatch(t, r.Params(), placed, "rule %s: params and the places in %q", r, r.Text())
		assert.Equal(t, r, errs.ParseRule(r.String()))
	}
	assert.False(t, errs.ParseCode("no_such_code").Declared())
	assert.False(t, errs.ParseRule("no_such_rule").Declared())
}

// A field problem carries its rule's message, code and params, and reads back as the same rule.
func TestFieldProblemJSON(t *testing.T) {
	var v errs.Validation
	v.Add("password", errs.Break(errs.RuleLength, 8, 72))
	v.Add("method", errs.Break(errs.RuleOneOf, []string{"CASH", "CREDIT", "DEBIT"}))
	v.AddErr("stock", errs.Break(errs.RuleMin, 0))
	v.AddErr("price", errors.New("some detail"))
	raw, err := json.Marshal(v.Problems)
	require.NoError(t, err)
	assert.JSONEq(t, `[
		{"path":"password","message":"must be 8 to 72 bytes","code":"length","params":{"min":8,"max":72}},
		{"path":"method","message":"must be CASH, CREDIT or DEBIT","code":"one_of","params":{"values":["CASH","CREDIT","DEBIT"]}},
		{"path":"stock","message":"must be at least 0","code":"min","params":{"min":0}},
		{"path":"price","message":"is invalid","code":"invalid"}]`, string(raw))

	var back []errs.FieldProblem
	require.NoError(t, json.Unmarshal(raw, &back))
	assert.Equal(t, errs.RuleLength, back[0].Code)
	assert.True(t, back[0].Code.Declared())
	assert.Equal(t, "length", back[0].Code.String())
}

// A broken rule is an error matched by identity, as pkg/money's sentinels are.
func TestBrokenIsAnError(t *testing.T) {
	sentinel := errs.Break(errs.RuleDecimals, 2)
	wrapped := errors.Join(errors.New("context"), sentinel)
	assert.ErrorIs(t, wrapped, sentinel)
	assert.Equal(t, "must have at most 2 decimals", sentinel.Error())
	assert.True(t, slices.Contains(errs.Rules(), errs.RuleDecimals))
}
