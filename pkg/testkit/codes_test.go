package testkit_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// recordingTB records the failures CheckCodes reports instead of failing the test.
type recordingTB struct {
	testing.TB
	failures []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func TestCheckCodes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		fails  bool
	}{
		{"declared code", 404, `{"error":"no such image","code":"not_found"}`, false},
		{"declared rule", 400, `{"error":"validation failed","code":"validation_failed","messages":[{"path":"password","message":"must be 8 to 72 bytes","code":"length","params":{"min":8,"max":72}}]}`, false},
		{"declared findings", 400, `{"error":"the cart has invalid articles","code":"checkout_refused","errors":[{"articleId":"a","message":"article disabled","code":"article_disabled"}]}`, false},
		{"a success is not checked", 200, `{"error":"a field of a body","code":"whatever"}`, false},
		{"undeclared code", 409, `{"error":"taken","code":"login_is_taken"}`, true},
		{"no code", 409, `{"error":"taken"}`, true},
		{"undeclared rule", 400, `{"error":"validation failed","code":"validation_failed","messages":[{"path":"a","message":"m","code":"too_short"}]}`, true},
		{"field message without a rule", 400, `{"error":"validation failed","code":"validation_failed","messages":[{"path":"a","message":"m"}]}`, true},
		{"finding without a code", 400, `{"error":"x","code":"checkout_refused","errors":[{"articleId":"a","message":"article disabled"}]}`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Type", "application/json; charset=utf-8")
			rec.WriteHeader(tc.status)
			rec.WriteString(tc.body)
			tb := &recordingTB{TB: t}
			testkit.CheckCodes(tb, rec)
			assert.Equal(t, tc.fails, len(tb.failures) > 0, "%v", tb.failures)
		})
	}
}
