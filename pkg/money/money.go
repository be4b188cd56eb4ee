// Package money is the one money type of the shop, for every service, store and JSON body, and
// the exact reading of JSON numbers that money and quantities come in.
//
// In JSON an amount is a plain number with at most two decimals, written without trailing zeros
// (1250 cents is 12.5, 1200 is 12): that is what the course's clients send and read for price and
// amount. It is read exactly from the number's text: 12.345 is refused, never rounded, and no
// binary float ever holds an amount.
package money

import (
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// Cents is an amount of money in hundredths. Sums of integers are exact, unlike sums of floats.
type Cents int64

// Problems reading an amount: broken field rules (errs.Validation.AddErr records them).
var (
	ErrOutOfRange = errs.Break(errs.RuleOutOfRange) // not a number this package reads (1e999999999)
	ErrTooLarge   = errs.Break(errs.RuleTooLarge)   // more cents than an int64 holds
	ErrPrecision  = errs.Break(errs.RuleDecimals, 2)
)

// String is c as decimal text without trailing zeros: 1250 → "12.5", 1200 → "12", 5 → "0.05".
func (c Cents) String() string {
	sign := ""
	v := int64(c)
	if v < 0 {
		sign, v = "-", -v
	}
	s := fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "0"), "0")
	return strings.TrimSuffix(s, ".")
}

// MarshalJSON writes c as a JSON number: 1250 → 12.5.
func (c Cents) MarshalJSON() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalJSON reads a JSON number with at most two decimals, exactly.
func (c *Cents) UnmarshalJSON(b []byte) error {
	var n Number
	if err := n.UnmarshalJSON(b); err != nil {
		return err
	}
	v, err := n.Cents()
	if err != nil {
		return fmt.Errorf("amount %s %w", b, err)
	}
	*c = v
	return nil
}

// Number is a JSON number kept as its text, so that it can be checked exactly (no float
// rounding) and each problem reported against its own field. Any other JSON type is a type
// error, which pkg/web reports as "<field>: must be a number".
type Number string

// UnmarshalJSON keeps the number's text.
func (n *Number) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || !(b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		return &json.UnmarshalTypeError{Value: "non-number", Type: reflect.TypeFor[float64]()}
	}
	*n = Number(b)
	return nil
}

// Cents reads n as an amount: ErrPrecision with more than two decimals, ErrTooLarge or
// ErrOutOfRange when it does not fit.
func (n Number) Cents() (Cents, error) {
	r, ok := n.rat()
	if !ok {
		return 0, ErrOutOfRange
	}
	r.Mul(r, big.NewRat(100, 1))
	switch {
	case !r.IsInt():
		return 0, ErrPrecision
	case !r.Num().IsInt64():
		return 0, ErrTooLarge
	}
	return Cents(r.Num().Int64()), nil
}

// Whole reads n as a whole number between lo and hi (5, 5.0 and 5e0 are all 5). Its errors are
// broken field rules (errs.Broken).
func (n Number) Whole(lo, hi int64) (int64, error) {
	r, ok := n.rat()
	switch {
	case !ok:
		return 0, ErrOutOfRange
	case !r.IsInt():
		return 0, errs.Break(errs.RuleWholeNumber)
	case r.Cmp(big.NewRat(lo, 1)) < 0:
		return 0, errs.Break(errs.RuleMin, lo)
	case r.Cmp(big.NewRat(hi, 1)) > 0:
		return 0, errs.Break(errs.RuleMax, hi)
	}
	return r.Num().Int64(), nil
}

// rat reads n exactly. Texts too long or with a huge exponent (1e999999999 would take big.Rat a
// long time to expand) are refused.
func (n Number) rat() (*big.Rat, bool) {
	text := string(n)
	if len(text) > 64 {
		return nil, false
	}
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		exp, err := strconv.Atoi(strings.TrimPrefix(text[i+1:], "+"))
		if err != nil || exp > 30 || exp < -30 {
			return nil, false
		}
	}
	return new(big.Rat).SetString(text)
}
