package web

import (
	"fmt"
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

// Paging reads ?page= and ?size= of q by the paging rule, recording problems in v.
func Paging(q url.Values, v *errs.Validation) (page, size int) {
	return queryInt(q, "page", 1, maxPage, 1, v), queryInt(q, "size", 1, MaxPageSize, DefaultPageSize, v)
}

// queryInt reads the whole number query parameter name, from lo to hi, def when absent.
func queryInt(q url.Values, name string, lo, hi, def int, v *errs.Validation) int {
	text := q.Get(name)
	if text == "" {
		return def
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < lo || n > hi {
		v.Add(name, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
		return def
	}
	return n
}
