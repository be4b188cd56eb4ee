package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// The paging rule of every paged list: ?page= from 1 (default 1), ?size= from 1 to MaxPageSize
// (default DefaultPageSize). A value out of range is a 400 with a message for its field, never
// silently changed.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
	maxPage         = 1_000_000
)

// TotalCountHeader tells, on a paged list answered as a bare JSON array (GET /users/all,
// GET /orders), how many items match in all pages together.
const TotalCountHeader = "X-Total-Count"

// Paging reads ?page= and ?size= of q by the paging rule, recording problems in v.
func Paging(q url.Values, v *errs.Validation) (page, size int) {
	return queryInt(q, "page", 1, maxPage, 1, v), queryInt(q, "size", 1, MaxPageSize, DefaultPageSize, v)
}

// PageBounds returns the half-open range [from, to) of the items of page (from 1) of size
// within total items; from == to when the page is past the end.
func PageBounds(page, size, total int) (from, to int) {
	from = min((page-1)*size, total)
	return from, min(from+size, total)
}

// EncodePage answers one page of a list as a bare JSON array, [] when it is empty (never null,
// the course's client reads an array), with the number of items of all pages in
// TotalCountHeader. Like EncodeTagged it carries an ETag, which covers the total too.
func EncodePage[T any](w http.ResponseWriter, r *http.Request, items []T, total int64) {
	if items == nil {
		items = []T{}
	}
	count := strconv.FormatInt(total, 10)
	w.Header().Set(TotalCountHeader, count)
	encodeTagged(w, r, items, []byte(count))
}

// queryInt reads the whole number query parameter name, from lo to hi, def when absent.
func queryInt(q url.Values, name string, lo, hi, def int, v *errs.Validation) int {
	text := q.Get(name)
	if text == "" {
		return def
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < lo || n > hi {
		v.Add(name, errs.Break(errs.RuleIntRange, lo, hi))
		return def
	}
	return n
}
