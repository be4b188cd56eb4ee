// Package web is the HTTP plumbing every service shares: JSON in and out, the error body
// formats and the one mapping from error kinds to status codes, middleware, health and metrics
// endpoints, and a server with timeouts and graceful shutdown.
package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// MaxBodyBytes is the default limit of a request body.
const MaxBodyBytes = 1 << 20

// Decode reads the JSON body of r into a T. Unknown fields are ignored; a malformed body or a
// field of the wrong type is errs.Invalid, a body over the limit errs.TooLarge, a non-JSON
// content type errs.Unsupported. Bodies are limited to MaxBodyBytes.
func Decode[T any](r *http.Request) (T, error) { return DecodeLimit[T](r, MaxBodyBytes) }

// DecodeLimit is Decode with a body limit of maxBytes. Text must be valid UTF-8 without control
// characters (tab and line breaks aside): a string field that breaks the rule is an
// errs.Invalid naming the field (see checkText).
func DecodeLimit[T any](r *http.Request, maxBytes int64) (T, error) {
	var v T
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return v, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBytes))
	if err != nil {
		return v, readError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&v); err != nil {
		return v, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return v, errs.Newf(errs.Invalid, "body must hold a single JSON value").WithCode(errs.CodeMalformedJSON)
	}
	return v, checkText(body, &v)
}

// readError is the error of a request body that could not be read whole: too large, or a
// client too slow to send it (see BodyTimeout).
func readError(err error) error {
	if isTooLarge(err) {
		return errs.Newf(errs.TooLarge, "the request body is too large")
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errs.Newf(errs.TimedOut, "the request body came too slowly")
	}
	return errs.Newf(errs.Invalid, "the request body could not be read")
}

// checkContentType accepts JSON and the types that curl and simple clients send by default.
func checkContentType(ct string) error {
	if ct == "" {
		return nil
	}
	media, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return errs.Newf(errs.Unsupported, "bad Content-Type")
	}
	switch {
	case media == "application/json", strings.HasSuffix(media, "+json"),
		media == "text/plain", media == "application/x-www-form-urlencoded":
		return nil
	}
	return errs.Newf(errs.Unsupported, "send application/json")
}

func isTooLarge(err error) bool {
	var tooLarge *http.MaxBytesError
	return errors.As(err, &tooLarge)
}

var errMalformedJSON = errs.Newf(errs.Invalid, "malformed JSON").WithCode(errs.CodeMalformedJSON)

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case isTooLarge(err):
		return errs.Newf(errs.TooLarge, "the request body is too large")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return errs.Newf(errs.Invalid, "body must be a JSON %s", "object").WithCode(errs.CodeMalformedJSON)
		}
		return errs.Field(field, errs.Break(errs.RuleType, jsonKind(typeErr.Type.Kind().String())))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return errMalformedJSON
	case errors.Is(err, io.EOF):
		return errs.Newf(errs.Invalid, "empty body").WithCode(errs.CodeMalformedJSON)
	}
	return errMalformedJSON
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "list"
	case "map", "struct":
		return "object"
	}
	return "number"
}

// Encode writes v as JSON with status. A nil slice should be made empty by the caller: `[]`, not null.
func Encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// NoContent answers 200 with an empty body (the SPEC's "empty" responses).
func NoContent(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }
