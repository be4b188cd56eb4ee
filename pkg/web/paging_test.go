package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

func TestPaging(t *testing.T) {
	for _, tc := range []struct {
		query      string
		page, size int
		bad        []string // the fields named in the 400
	}{
		{"", 1, web.DefaultPageSize, nil},
		{"page=3&size=7", 3, 7, nil},
		{"size=100", 1, 100, nil},
		{"page=0", 1, web.DefaultPageSize, []string{"page"}},
		{"page=-2&size=5", 1, 5, []string{"page"}},
		{"size=0", 1, web.DefaultPageSize, []string{"size"}},
		{"size=101", 1, web.DefaultPageSize, []string{"size"}},
		{"page=x&size=1e3", 1, web.DefaultPageSize, []string{"page", "size"}},
		{"page=99999999999999999999", 1, web.DefaultPageSize, []string{"page"}},
	} {
		q, err := url.ParseQuery(tc.query)
		assert.NoError(t, err)
		var v errs.Validation
		page, size := web.Paging(q, &v)
		assert.Equal(t, tc.page, page, tc.query)
		assert.Equal(t, tc.size, size, tc.query)
		var fields []string
		for _, p := range v.Problems {
			fields = append(fields, p.Path)
		}
		assert.Equal(t, tc.bad, fields, tc.query)
	}
}

func TestPageBounds(t *testing.T) {
	for _, tc := range []struct{ page, size, total, from, to int }{
		{1, 20, 0, 0, 0}, {1, 20, 5, 0, 5}, {2, 2, 5, 2, 4}, {3, 2, 5, 4, 5}, {4, 2, 5, 5, 5}, {1_000_000, 100, 5, 5, 5},
	} {
		from, to := web.PageBounds(tc.page, tc.size, tc.total)
		assert.Equal(t, [2]int{tc.from, tc.to}, [2]int{from, to}, "%+v", tc)
	}
}

func TestEncodePage(t *testing.T) {
	get := func(items []string, total int64, etag string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/list", nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		rec := httptest.NewRecorder()
		web.EncodePage(rec, req, items, total)
		return rec
	}
	rec := get(nil, 0, "")
	assert.Equal(t, 200, rec.Code)
	assert.JSONEq(t, `[]`, rec.Body.String(), "an empty page is [], never null")
	assert.Equal(t, "0", rec.Header().Get(web.TotalCountHeader))

	rec = get([]string{"a"}, 7, "")
	assert.JSONEq(t, `["a"]`, rec.Body.String())
	assert.Equal(t, "7", rec.Header().Get(web.TotalCountHeader))
	tag := rec.Header().Get("ETag")
	assert.Equal(t, http.StatusNotModified, get([]string{"a"}, 7, tag).Code)
	assert.Equal(t, http.StatusOK, get([]string{"a"}, 8, tag).Code, "a new total is a new answer")
}

func TestBidiControl(t *testing.T) {
	for _, r := range []rune{0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C} {
		var v errs.Validation
		web.CheckNoBidi(&v, "name", "abc"+string(r)+"def")
		if assert.Len(t, v.Problems, 1, "%U", r) {
			assert.Equal(t, errs.FieldProblem{Path: "name", Message: web.BidiControlMessage, Code: errs.RuleNoBidi}, v.Problems[0])
		}
	}
	for _, s := range []string{"", "Zoë Ñandú", "مرحبا", "שלום", "日本語", "a\u200Db", "x\u2029y", "\u2065", "\u2070"} {
		var v errs.Validation
		web.CheckNoBidi(&v, "name", s)
		assert.Empty(t, v.Problems, "%q", s)
	}
}
