// Package errs holds the few kinds of error every service uses. Domain code wraps them with %w;
// pkg/web maps each kind to one HTTP status, so handlers never pick status codes by hand.
package errs

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// The error kinds. An error a client should read is made with Newf, which carries its message
// for the client explicitly; anything else of a kind answers the kind's own text.
var (
	Invalid      = errors.New("invalid request")
	Unauthorized = errors.New("unauthorized")
	Forbidden    = errors.New("forbidden")
	NotFound     = errors.New("not found")
	Conflict     = errors.New("conflict")
	TooLarge     = errors.New("request body too large")
	Unsupported  = errors.New("unsupported media type")
	RateLimited  = errors.New("too many requests")
	TimedOut     = errors.New("request timeout") // the client was too slow to send its request
	Unavailable  = errors.New("service unavailable")
)

// Stuck is what a readiness check wraps when its dependency has stopped answering: calls to it
// are waiting past their deadline rather than failing (/readyz reports it as "stuck").
var Stuck = errors.New("stuck")

// Error is an error of a kind with a message meant for the client that caused it. pkg/web
// answers with Message, and never with other errors' texts.
type Error struct {
	Kind    error
	Message string
	// Code is the stable name of the error that clients may rely on (SPEC §2); the zero
	// Code, pkg/web sends its kind's code (CodeNotFound, CodeRateLimited, …).
	Code Code
	// RetryAfter, on a RateLimited error, is how long until trying again can succeed; pkg/web
	// sends it as the Retry-After header.
	RetryAfter time.Duration
}

// Newf returns an error of kind whose client message is the formatted text:
// errs.Newf(errs.NotFound, "article %s not found", id).
func Newf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// RateLimitedf returns a RateLimited error whose client message is the formatted text, telling
// the client to try again after retryAfter.
func RateLimitedf(retryAfter time.Duration, format string, args ...any) *Error {
	return &Error{Kind: RateLimited, Message: fmt.Sprintf(format, args...), RetryAfter: retryAfter}
}

// WithCode returns a copy of e with its own code, for an error clients tell apart from others
// of its kind: errs.Newf(errs.Conflict, "…").WithCode(errs.CodeLoginTaken).
func (e *Error) WithCode(code Code) *Error {
	c := *e
	c.Code = code
	return &c
}

func (e *Error) Error() string { return e.Message }

// Is makes an Error match its kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// FieldProblem says what is wrong with one field of a request body: the rule it breaks (Code)
// with the rule's params, and the rule's English message.
type FieldProblem struct {
	Path    string         `json:"path"`
	Message string         `json:"message"`
	Code    Rule           `json:"code"`
	Params  map[string]any `json:"params,omitempty"`
}

// Validation collects field problems. Its zero value is ready to use; Err returns nil when empty.
// It is an Invalid error, so errors.Is(v, errs.Invalid) holds.
type Validation struct {
	Summary  string
	Problems []FieldProblem
	// Code, when set, is the error's own code instead of CodeValidationFailed.
	Code Code
}

// Add records that the field at path (its JSON name) breaks a rule:
// v.Add("password", errs.Break(errs.RuleLength, 8, 72)).
func (v *Validation) Add(path string, b *Broken) {
	// Params are copied: b may be a shared sentinel (pkg/money's errors).
	v.Problems = append(v.Problems, FieldProblem{Path: path, Message: b.Error(), Code: b.Rule, Params: maps.Clone(b.Params)})
}

// AddErr records err for the field at path: the rule it breaks when it is a *Broken (as
// pkg/money's errors are), else RuleInvalid.
func (v *Validation) AddErr(path string, err error) {
	var b *Broken
	if !errors.As(err, &b) {
		b = Break(RuleInvalid)
	}
	v.Add(path, b)
}

// Check records b for path when ok is false.
func (v *Validation) Check(ok bool, path string, b *Broken) {
	if !ok {
		v.Add(path, b)
	}
}

// Err returns v as an error when it holds problems, else nil.
func (v *Validation) Err() error {
	if len(v.Problems) == 0 {
		return nil
	}
	return v
}

func (v *Validation) Error() string {
	parts := make([]string, len(v.Problems))
	for i, p := range v.Problems {
		parts[i] = p.Path + ": " + p.Message
	}
	return fmt.Sprintf("%s: %s", v.summary(), strings.Join(parts, "; "))
}

func (v *Validation) summary() string {
	if v.Summary != "" {
		return v.Summary
	}
	return "validation failed"
}

// Is makes a Validation match errs.Invalid.
func (v *Validation) Is(target error) bool { return target == Invalid }

// SummaryText returns the one-line human summary of the validation error.
func (v *Validation) SummaryText() string { return v.summary() }

// Field returns an Invalid error about a single field that breaks a rule:
// errs.Field("image", errs.Break(errs.RuleRequired)).
func Field(path string, b *Broken) error {
	v := &Validation{}
	v.Add(path, b)
	return v
}
