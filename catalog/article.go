// Package catalog is the catalog service (SPEC §3.3): articles with their price and stock, read
// by anyone and written by admins, and the stock reservations that orders need (SPEC §4).
//
// How stock is kept, and why. The obvious design, a stock field taken with a conditional update
// ({_id, stock: {$gte: q}} → {$inc: {stock: -q}}), oversells on the MongoDB-wire server we run
// (FerretDB): its conditional updates are not atomic under concurrency, and it has no
// transactions either. Unique indexes do hold, there as on MongoDB, so every rule rests on them:
//   - Stock is an append-only ledger of moves per article (ledger.go). Each move has the next
//     sequence number of its article and the running balance, under a unique index on
//     (articleId, seq): of two writers that read the same balance, only one can append the next
//     seq; the other gets a duplicate key, re-reads and decides again. The balance of the latest
//     move is the article's stock.
//   - Reserving an order's stock (reserve.go) decides each line with one move whose _id is
//     deterministic, "<order>/<article>/reserve", so an order_placed message delivered twice, or
//     handled by two consumers at once, never reserves twice.
package catalog

import (
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// Article is one article of the catalog as clients see it. Stock is the balance of its ledger.
type Article struct {
	ID          string `json:"_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Image       string `json:"image"`
	Price       Cents  `json:"price"`
	Stock       int64  `json:"stock"`
	Enabled     bool   `json:"enabled"`
}

// Limits of article fields (SPEC §3.3).
const (
	maxNameLen        = 100
	maxDescriptionLen = 2048
	maxPrice          = Cents(100_000_000_00) // 100 million, in cents
	maxStock          = 1_000_000_000
)

// Cents is an amount of money in hundredths. In JSON it is a plain number with up to two
// decimals (12.5 is 1250 cents), so clients never see floating-point residue.
type Cents int64

// MarshalJSON writes c as a decimal number: 1250 → 12.5.
func (c Cents) MarshalJSON() ([]byte, error) { return []byte(c.decimal()), nil }

// decimal is c as decimal text without trailing zeros: 1250 → "12.5", 1200 → "12".
func (c Cents) decimal() string {
	sign := ""
	v := int64(c)
	if v < 0 {
		sign, v = "-", -v
	}
	s := fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "0"), "0")
	return strings.TrimSuffix(s, ".")
}

// UnmarshalJSON reads a number with at most two decimals (used when reading replies back).
func (c *Cents) UnmarshalJSON(b []byte) error {
	n, err := parseCents(string(b))
	if err != nil {
		return fmt.Errorf("price %s: %w", b, err)
	}
	*c = n
	return nil
}

// number keeps the literal text of a JSON number, so price and stock can be checked exactly
// (no float rounding) and given per-field messages. Any other JSON type is a type error, which
// web.Decode reports as "<field>: must be a number".
type number string

func (n *number) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || !(b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		return &json.UnmarshalTypeError{Value: "non-number", Type: reflect.TypeFor[float64]()}
	}
	*n = number(b)
	return nil
}

// parseCents converts a decimal text to cents, refusing more than two decimals.
func parseCents(text string) (Cents, error) {
	r, ok := parseDecimal(text)
	if !ok {
		return 0, fmt.Errorf("is out of range")
	}
	r.Mul(r, big.NewRat(100, 1))
	if !r.IsInt() {
		return 0, fmt.Errorf("must have at most 2 decimals")
	}
	if !r.Num().IsInt64() {
		return 0, fmt.Errorf("must be at most %s", maxPrice.decimal())
	}
	return Cents(r.Num().Int64()), nil
}

// imageIDPattern is the shape of the image service's ids: UUIDs in their canonical lower-case
// form (image.Create makes them with uuid.NewString).
var imageIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// articleInput is the body of create and update: every field optional, checked by validate.
type articleInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Image       *string `json:"image"`
	Price       *number `json:"price"`
	Stock       *number `json:"stock"`
}

// articleChanges is a validated articleInput: nil fields are left as they are.
type articleChanges struct {
	Name        *string
	Description *string
	Image       *string
	Price       *Cents
	Stock       *int64
}

// validate checks in and returns the changes it asks for. On create, name and price are
// required and a missing stock means 0.
func (in articleInput) validate(create bool) (articleChanges, error) {
	var ch articleChanges
	var v errs.Validation
	v.Summary = "invalid article"

	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		n := utf8.RuneCountInString(name)
		v.Check(n >= 1, "name", "must not be empty")
		v.Check(n <= maxNameLen, "name", fmt.Sprintf("must be at most %d characters", maxNameLen))
		ch.Name = &name
	} else if create {
		v.Add("name", "is required")
	}

	if in.Description != nil {
		desc := strings.TrimSpace(*in.Description)
		v.Check(utf8.RuneCountInString(desc) <= maxDescriptionLen, "description",
			fmt.Sprintf("must be at most %d characters", maxDescriptionLen))
		ch.Description = &desc
	}

	if in.Image != nil {
		img := strings.ToLower(strings.TrimSpace(*in.Image))
		v.Check(img == "" || imageIDPattern.MatchString(img), "image",
			"must be an image id (a UUID such as 0b8f5c1e-6f0a-4c5e-9a57-3d2b1c0e9f42) or empty")
		ch.Image = &img
	}

	if in.Price != nil {
		price, err := parseCents(string(*in.Price))
		switch {
		case err != nil:
			v.Add("price", err.Error())
		case price < 0:
			v.Add("price", "must be at least 0")
		case price > maxPrice:
			v.Add("price", "must be at most "+maxPrice.decimal())
		default:
			ch.Price = &price
		}
	} else if create {
		v.Add("price", "is required")
	}

	if in.Stock != nil {
		stock, err := parseStock(string(*in.Stock))
		if err != nil {
			v.Add("stock", err.Error())
		} else {
			ch.Stock = &stock
		}
	} else if create {
		zero := int64(0)
		ch.Stock = &zero
	}
	return ch, v.Err()
}

// parseStock converts the text of a JSON number to a stock quantity: a whole number (5, 5.0 or
// 5e0) between 0 and maxStock.
func parseStock(text string) (int64, error) {
	r, ok := parseDecimal(text)
	switch {
	case !ok:
		return 0, fmt.Errorf("is out of range")
	case !r.IsInt():
		return 0, fmt.Errorf("must be a whole number")
	case r.Sign() < 0:
		return 0, fmt.Errorf("must be at least 0")
	case r.Cmp(big.NewRat(maxStock, 1)) > 0:
		return 0, fmt.Errorf("must be at most %d", maxStock)
	}
	return r.Num().Int64(), nil
}

// parseDecimal reads the text of a JSON number exactly. Texts too long or with a huge exponent
// (1e999999999 would take big.Rat a long time to expand) are refused as out of range.
func parseDecimal(text string) (*big.Rat, bool) {
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
