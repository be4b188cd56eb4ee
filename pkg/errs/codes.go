package errs

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Code is the stable snake_case name of an error that clients rely on (SPEC §2): the "code" of
// an error body and of a cart validation finding. Every code is declared once below, with what
// it means; a code, once sent, keeps its meaning. Only this package makes codes, so a service
// cannot send one that is not declared (Codes lists them all, for clients' translation tables).
type Code struct{ name string }

// String is the code's name, as clients read it.
func (c Code) String() string { return c.name }

// MarshalJSON writes the code's name.
func (c Code) MarshalJSON() ([]byte, error) { return json.Marshal(c.name) }

// UnmarshalJSON reads a code a service sent (a client's view; it may not be declared here).
func (c *Code) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &c.name) }

// ParseCode returns the code named name, as a client reads it; Declared tells whether it is
// one of Codes.
func ParseCode(name string) Code { return Code{name} }

// Declared tells whether c is one of Codes.
func (c Code) Declared() bool { return slices.Contains(codes, c) }

var codes []Code

func code(name string) Code {
	c := Code{name}
	codes = append(codes, c)
	return c
}

// Codes returns every declared error code.
func Codes() []Code { return slices.Clone(codes) }

// The codes of the error kinds: an error without a code of its own has its kind's (pkg/web).
var (
	// CodeValidationFailed: 400, the body's fields break rules; "messages" says which.
	CodeValidationFailed = code("validation_failed")
	// CodeBadRequest: 400, the request is malformed in a way that names no field.
	CodeBadRequest = code("bad_request")
	// CodeUnauthorized: 401, no token, or one that is invalid, revoked or expired: sign in.
	CodeUnauthorized = code("unauthorized")
	// CodeForbidden: 403, the caller may not do this.
	CodeForbidden = code("forbidden")
	// CodeNotFound: 404, no such thing (user, session, image, article, cart line, order, route).
	CodeNotFound = code("not_found")
	// CodeMethodNotAllowed: 405, the path exists but not with this method.
	CodeMethodNotAllowed = code("method_not_allowed")
	// CodeConflict: 409, the thing exists already or is in a state that refuses the request.
	CodeConflict = code("conflict")
	// CodeTooLarge: 413, the request body is over its limit.
	CodeTooLarge = code("too_large")
	// CodeUnsupportedMediaType: 415, the body is not JSON.
	CodeUnsupportedMediaType = code("unsupported_media_type")
	// CodeRateLimited: 429, too many attempts or over a quota; Retry-After says when to retry.
	CodeRateLimited = code("rate_limited")
	// CodeTimedOut: 408, the request body came too slowly.
	CodeTimedOut = code("timed_out")
	// CodeUnavailable: 503, a store, broker or service this request needs is down; retry shortly.
	CodeUnavailable = code("unavailable")
	// CodeInternalError: 500, a bug; the body holds no detail.
	CodeInternalError = code("internal_error")
)

// Codes every service may send, from the shared plumbing.
var (
	// CodeMalformedJSON: 400, the body is not one JSON object (empty, broken or trailing data).
	CodeMalformedJSON = code("malformed_json")
	// CodeInvalidUTF8: 400, the body is not valid UTF-8.
	CodeInvalidUTF8 = code("invalid_utf8")
	// CodeMalformedID: 400, an id in the path cannot be an id of its kind.
	CodeMalformedID = code("malformed_id")
	// CodeMissingPermission: 403, the signed-in user lacks the permission the route requires.
	CodeMissingPermission = code("missing_permission")
	// CodeBusy: 429, the server is shedding load; retry after Retry-After.
	CodeBusy = code("busy")
	// CodeConcurrentChange: 409, concurrent changes kept this one from being stored; retry.
	CodeConcurrentChange = code("concurrent_change")
)

// Codes of auth.
var (
	// CodeWrongCredentials: 401, sign-in with a wrong login or password (never says which).
	CodeWrongCredentials = code("wrong_credentials")
	// CodeLoginTaken: 409, sign-up with a login another user has.
	CodeLoginTaken = code("login_taken")
	// CodeCannotDisableSelf: 409, an admin tried to disable itself.
	CodeCannotDisableSelf = code("cannot_disable_self")
	// CodeCannotRevokeOwnAdmin: 409, an admin tried to revoke its own admin permission.
	CodeCannotRevokeOwnAdmin = code("cannot_revoke_own_admin")
)

// Codes of image.
var (
	// CodeImageTooLarge: 413, the uploaded image is over the size limit.
	CodeImageTooLarge = code("image_too_large")
	// CodeImageTooManyPixels: 413, the image's dimensions are over the pixel limits.
	CodeImageTooManyPixels = code("image_too_many_pixels")
)

// Codes of catalog.
var (
	// CodeInvalidSearch: 400, search criteria that are empty, too long or not plain text.
	CodeInvalidSearch = code("invalid_search")
)

// Codes of cart: errors, and the findings of a cart validation (errors and warnings of
// GET /cart/validate and of a refused checkout, each about one article).
var (
	// CodeCartEmpty: 400, checkout of an empty cart.
	CodeCartEmpty = code("cart_empty")
	// CodeCheckoutRefused: 400, checkout of a cart with invalid articles; "errors" lists them.
	CodeCheckoutRefused = code("checkout_refused")
	// CodeCartCheckedOut: 409, the cart was checked out meanwhile.
	CodeCartCheckedOut = code("cart_checked_out")
	// CodeArticleNotFound: a cart line whose article catalog does not know (an error finding).
	CodeArticleNotFound = code("article_not_found")
	// CodeArticleDisabled: a cart line whose article is no longer sold (an error finding).
	CodeArticleDisabled = code("article_disabled")
	// CodeNotEnoughStock: a cart line asking for more than the stock (a warning finding).
	CodeNotEnoughStock = code("not_enough_stock")
)

// Codes of orders.
var (
	// CodeNotOwner: 403, only the order's owner may pay it.
	CodeNotOwner = code("not_owner")
	// CodeOrderInvalid: 409, payment of an invalid order.
	CodeOrderInvalid = code("order_invalid")
	// CodeOrderNotValidated: 409, payment of an order whose stock is still being checked.
	CodeOrderNotValidated = code("order_not_validated")
	// CodeOrderPaid: 409, payment of an order whose payments already cover its total.
	CodeOrderPaid = code("order_paid")
	// CodeOrderCancelled: 409, payment of a cancelled order.
	CodeOrderCancelled = code("order_cancelled")
	// CodeNotCancellable: 409, cancelling a shipped, delivered or invalid order.
	CodeNotCancellable = code("not_cancellable")
	// CodeNotShippable: 409, shipping an order that is not paid.
	CodeNotShippable = code("not_shippable")
	// CodeNotDeliverable: 409, delivering an order that is not shipped.
	CodeNotDeliverable = code("not_deliverable")
	// CodeTooManyPayments: 429, the order holds the most payments it takes.
	CodeTooManyPayments = code("too_many_payments")
	// CodeExceedsAmountDue: 400, a payment above the amount due (also the rule of its field).
	CodeExceedsAmountDue = code("exceeds_amount_due")
)

// Rule is a rule a field of a request breaks: the "code" of a field message, whose "params"
// are the rule's values (SPEC §2). Every rule is declared once below, with the English message
// services send and the params it carries; only this package makes rules, so a field message
// cannot lack its code. Rules lists them all, for clients' translation tables.
type Rule struct{ def *ruleDef }

type ruleDef struct {
	name   string
	text   string   // the English message; {param} marks where a param goes
	params []string // the names of the params, in the order Break takes them
}

// String is the rule's name, as clients read it.
func (r Rule) String() string {
	if r.def == nil {
		return ""
	}
	return r.def.name
}

// Params names the params the rule carries.
func (r Rule) Params() []string {
	if r.def == nil {
		return nil
	}
	return slices.Clone(r.def.params)
}

// Text is the English message of the rule, with {param} where each param goes.
func (r Rule) Text() string {
	if r.def == nil {
		return ""
	}
	return r.def.text
}

// MarshalJSON writes the rule's name.
func (r Rule) MarshalJSON() ([]byte, error) { return json.Marshal(r.String()) }

// UnmarshalJSON reads a rule a service sent (a client's view): the declared rule of that name,
// or an undeclared one.
func (r *Rule) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	*r = ParseRule(name)
	return nil
}

// ParseRule returns the rule named name, as a client reads it; Declared tells whether it is
// one of Rules.
func ParseRule(name string) Rule {
	for _, r := range rules {
		if r.def.name == name {
			return r
		}
	}
	return Rule{&ruleDef{name: name}}
}

// Declared tells whether r is one of Rules.
func (r Rule) Declared() bool { return slices.Contains(rules, r) }

var rules []Rule

func rule(name, text string, params ...string) Rule {
	r := Rule{&ruleDef{name: name, text: text, params: params}}
	rules = append(rules, r)
	return r
}

// Rules returns every declared field rule.
func Rules() []Rule { return slices.Clone(rules) }

// The field rules. Lengths in characters count Unicode code points; in bytes, UTF-8 bytes. A
// {values} param is a list, written "A, B or C".
var (
	RuleRequired = rule("required", "is required")
	// RuleInvalid: a value that breaks a rule with no code of its own.
	RuleInvalid    = rule("invalid", "is invalid")
	RuleNotEmpty   = rule("not_empty", "must not be empty")
	RuleLength     = rule("length", "must be {min} to {max} bytes", "min", "max")
	RuleLengthChar = rule("length_chars", "must be {min} to {max} characters", "min", "max")
	RuleMaxBytes   = rule("max_bytes", "must be at most {max} bytes", "max")
	RuleMaxChars   = rule("max_chars", "must be at most {max} characters", "max")
	RuleMaxWords   = rule("max_words", "must have at most {max} words", "max")
	// RuleNoControl: text with control characters other than tab and line breaks.
	RuleNoControl = rule("no_control_chars", "must not contain control characters")
	// RuleNoBidi: text with Unicode bidirectional control characters.
	RuleNoBidi = rule("no_bidi", "must not contain bidirectional control characters")
	// RuleNoInvisible: a login with invisible (format) characters.
	RuleNoInvisible = rule("no_invisible", "must not contain invisible characters")
	RuleUTF8        = rule("utf8", "must be valid UTF-8 text")
	// RulePlainText: search text that is not UTF-8 or holds control characters.
	RulePlainText = rule("plain_text", "must be UTF-8 text without control characters")
	// RuleType: a JSON value of the wrong type; type is string, number, boolean, list or object.
	RuleType = rule("type", "must be a {type}", "type")
	// RuleOneOf: a value that is none of the allowed values.
	RuleOneOf = rule("one_of", "must be {values}", "values")
	// RuleIntRange: a query parameter (page, size) that is not a whole number in range.
	RuleIntRange    = rule("int_range", "must be a whole number from {min} to {max}", "min", "max")
	RuleWholeNumber = rule("whole_number", "must be a whole number")
	RulePositiveInt = rule("positive_integer", "must be a positive integer")
	RuleMin         = rule("min", "must be at least {min}", "min")
	RuleMax         = rule("max", "must be at most {max}", "max")
	RuleGreaterThan = rule("greater_than", "must be greater than {min}", "min")
	// RuleMaxAmount: an amount of money over max (a JSON number, like the amount).
	RuleMaxAmount = rule("max_amount", "must be at most {max}", "max")
	RuleDecimals  = rule("decimals", "must have at most {max} decimals", "max")
	// RuleOutOfRange: a number too large or too precise to be read at all.
	RuleOutOfRange = rule("out_of_range", "is out of range")
	// RuleTooLarge: a number larger than any amount.
	RuleTooLarge = rule("too_large", "is too large")

	// RuleNotCurrentPassword: a password change whose current password is wrong.
	RuleNotCurrentPassword = rule("not_current_password", "is not your current password")
	// RulePermissionCount: a grant or revoke listing too few or too many permissions.
	RulePermissionCount = rule("permission_count", "must list {min} to {max} permissions", "min", "max")
	// RulePermissionName: a permission that is not 1 to max characters of a-z, 0-9, _ and -.
	RulePermissionName = rule("permission_name", "must be 1 to {max} characters of a-z, 0-9, _ and -", "max")

	// RuleDataURL: an image upload that is not a base64 data URL.
	RuleDataURL = rule("data_url", "must be a data URL: data:image/jpeg;base64,... or data:image/png;base64,...")
	RuleBase64  = rule("base64", "is not valid base64")
	// RuleImageFormat: bytes that are neither JPEG nor PNG.
	RuleImageFormat = rule("image_format", "must be a JPEG or PNG image")
	// RuleImageUnreadable: a JPEG or PNG that cannot be decoded; format is JPEG or PNG.
	RuleImageUnreadable = rule("image_unreadable", "is not a readable {format} image", "format")
	RuleImageEmpty      = rule("image_empty", "has no pixels")
	// RuleImageID: an article's image that is not an image id.
	RuleImageID = rule("image_id", "must be an image id (a UUID such as 0b8f5c1e-6f0a-4c5e-9a57-3d2b1c0e9f42) or empty")

	// RuleArticleID: an article id that is not 24 hexadecimal characters.
	RuleArticleID = rule("article_id", "must be an article id (24 hexadecimal characters)")
	// RuleCartFull: an article added to a cart that holds max lines already.
	RuleCartFull = rule("cart_full", "the cart already holds {max} articles, the most it can", "max")
	// RuleLineTooLarge: a change that would take a cart line to quantity, over max.
	RuleLineTooLarge = rule("line_too_large", "the line would hold {quantity}, more than {max}", "quantity", "max")

	// RuleExceedsAmountDue: a payment above amountDue (a JSON number, like the amount).
	RuleExceedsAmountDue = rule("exceeds_amount_due", "must be at most the amount due, {amountDue}", "amountDue")
)

// Broken is a rule broken by a value, with the rule's params: what a field message says.
// As an error its text is the rule's English message.
type Broken struct {
	Rule   Rule
	Params map[string]any
}

// Break returns r broken with args as its params, in the order r declares them:
// errs.Break(errs.RuleLength, 8, 72).
func Break(r Rule, args ...any) *Broken {
	b := &Broken{Rule: r}
	if params := r.Params(); len(params) > 0 {
		b.Params = make(map[string]any, len(params))
		for i, name := range params {
			if i < len(args) {
				b.Params[name] = args[i]
			}
		}
	}
	return b
}

func (b *Broken) Error() string { return b.Rule.Message(b.Params) }

// Message is r's English message with params in place.
func (r Rule) Message(params map[string]any) string {
	text := r.Text()
	for _, name := range r.Params() {
		text = strings.ReplaceAll(text, "{"+name+"}", FormatParam(params[name], "or"))
	}
	return text
}

// FormatParam writes a param's value into a message: a list as "A, B or C" (with the given
// word for "or"), anything else as fmt's %v.
func FormatParam(v any, or string) string {
	var list []string
	switch v := v.(type) {
	case []string:
		list = v
	case []any:
		for _, x := range v {
			list = append(list, fmt.Sprint(x))
		}
	default:
		return fmt.Sprint(v)
	}
	if len(list) <= 1 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " " + or + " " + list[len(list)-1]
}
