package testkit

import (
	"encoding/json"
	"mime"
	"net/http/httptest"
	"testing"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// CheckCodes fails the test when rec is a JSON error answer (SPEC §2) whose code is not a
// declared errs.Code, or that holds a field message whose code is not a declared errs.Rule, or
// a cart finding (errors, warnings) whose code is not a declared errs.Code. Serve calls it on
// every answer, so every service test checks that what the service sends is declared, and thus
// translated by the storefront (its test covers every declared code).
func CheckCodes(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	media, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type"))
	if rec.Code < 400 || media != "application/json" {
		return
	}
	var body struct {
		Error    *string `json:"error"`
		Code     *string `json:"code"`
		Messages []struct {
			Path string  `json:"path"`
			Code *string `json:"code"`
		} `json:"messages"`
		Errors []struct {
			ArticleID string  `json:"articleId"`
			Code      *string `json:"code"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == nil {
		return // not an error body (a hostile test's odd answer is checked by that test)
	}
	switch {
	case body.Code == nil:
		t.Errorf("error answer %d without a code: %s", rec.Code, rec.Body.String())
	case !errs.ParseCode(*body.Code).Declared():
		t.Errorf("error answer %d with code %q, not declared in pkg/errs: %s", rec.Code, *body.Code, rec.Body.String())
	}
	for _, m := range body.Messages {
		if m.Code == nil || !errs.ParseRule(*m.Code).Declared() {
			t.Errorf("field message of %q without a declared rule code: %s", m.Path, rec.Body.String())
		}
	}
	for _, e := range body.Errors {
		if e.Code == nil || !errs.ParseCode(*e.Code).Declared() {
			t.Errorf("finding about %s without a declared code: %s", e.ArticleID, rec.Body.String())
		}
	}
}
