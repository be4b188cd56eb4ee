package web

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// EncodeTagged answers 200 with v as JSON, like Encode, under a strong ETag computed from the
// body. A client that sends that tag back in If-None-Match gets 304 Not Modified and no body: the
// answer is still computed (the tag is its hash), but not sent again.
func EncodeTagged(w http.ResponseWriter, r *http.Request, v any) {
	encodeTagged(w, r, v, nil)
}

// encodeTagged is EncodeTagged with extra bytes that count in the tag: what the answer's headers
// say besides the body (a paged list's total).
func encodeTagged(w http.ResponseWriter, r *http.Request, v any, extra []byte) {
	var body bytes.Buffer
	if err := json.NewEncoder(&body).Encode(v); err != nil {
		Encode(w, http.StatusInternalServerError, errorBody{Error: "internal error", Code: errs.CodeInternalError})
		return
	}
	h := fnv.New64a()
	_, _ = h.Write(body.Bytes())
	_, _ = h.Write(extra)
	tag := `"` + strconv.FormatUint(h.Sum64(), 36) + `"`
	w.Header().Set("ETag", tag)
	if matchesETag(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body.Bytes())
}

// matchesETag tells whether an If-None-Match header names tag (or is "*").
func matchesETag(header, tag string) bool {
	for candidate := range strings.SplitSeq(header, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == tag || candidate == "*" {
			return true
		}
	}
	return false
}
