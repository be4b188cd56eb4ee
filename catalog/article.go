// Package catalog is the catalog service (SPEC §3.3): articles with their price and stock, read
// by anyone and written by admins, and the stock reservations that orders need (SPEC §4).
//
// FerretDB's conditional updates are not atomic, so every rule rests on unique _ids instead
// (docs/design.md): stock is an append-only ledger (ledger.go), a reservation decides each line
// by a move with a deterministic key (reserve.go), an article's version is claimed by inserting
// it (versions.go). Reads come from an in-memory read model (view.go).
package catalog

import (
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Article is one article of the catalog as clients see it. Stock is the balance of its ledger.
type Article struct {
	ID          string      `json:"_id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Image       string      `json:"image"`
	Price       money.Cents `json:"price"`
	Stock       int64       `json:"stock"`
	Enabled     bool        `json:"enabled"`
}

// Limits of article fields (SPEC §3.3).
const (
	maxNameLen        = 100
	maxDescriptionLen = 2048
	maxImageLen       = 200
	maxPrice          = money.Cents(100_000_000_00) // 100 million, in cents
	maxStock          = 1_000_000_000
)

// imageIDPattern is the shape of the image service's ids: UUIDs in their canonical lower-case
// form (image.Create makes them with uuid.NewString).
var imageIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// articleInput is the body of create and update: every field optional, checked by validate.
type articleInput struct {
	Name        *string       `json:"name"`
	Description *string       `json:"description"`
	Image       *string       `json:"image"`
	Price       *money.Number `json:"price"`
	Stock       *money.Number `json:"stock"`
	// Enabled true restores a deleted article, false deletes it (as DELETE does); update only.
	Enabled *bool `json:"enabled"`
}

// articleChanges is a validated articleInput: nil fields are left as they are.
type articleChanges struct {
	Name        *string
	Description *string
	Image       *string
	Price       *money.Cents
	Stock       *int64
	Enabled     *bool
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
		v.Check(n >= 1, "name", errs.Break(errs.RuleNotEmpty))
		v.Check(n <= maxNameLen, "name", errs.Break(errs.RuleMaxChars, maxNameLen))
		web.CheckNoBidi(&v, "name", name)
		ch.Name = &name
	} else if create {
		v.Add("name", errs.Break(errs.RuleRequired))
	}

	if in.Description != nil {
		desc := strings.TrimSpace(*in.Description)
		v.Check(utf8.RuneCountInString(desc) <= maxDescriptionLen, "description",
			errs.Break(errs.RuleMaxChars, maxDescriptionLen))
		web.CheckNoBidi(&v, "description", desc)
		ch.Description = &desc
	}

	if in.Image != nil {
		img := strings.ToLower(strings.TrimSpace(*in.Image))
		v.Check(img == "" || imageIDPattern.MatchString(img), "image", errs.Break(errs.RuleImageID))
		ch.Image = &img
	}

	if in.Price != nil {
		ch.Price = checkPrice(&v, *in.Price)
	} else if create {
		v.Add("price", errs.Break(errs.RuleRequired))
	}

	if in.Stock != nil {
		stock, err := in.Stock.Whole(0, maxStock)
		if err != nil {
			v.AddErr("stock", err)
		} else {
			ch.Stock = &stock
		}
	} else if create {
		zero := int64(0)
		ch.Stock = &zero
	}
	if !create {
		ch.Enabled = in.Enabled // a new article is always enabled
	}
	return ch, v.Err()
}

// checkPrice returns price in cents, or records on v why it is not a price (nil).
func checkPrice(v *errs.Validation, price money.Number) *money.Cents {
	cents, err := price.Cents()
	switch {
	case errors.Is(err, money.ErrTooLarge):
		v.Add("price", errs.Break(errs.RuleMaxAmount, maxPrice))
	case err != nil:
		v.AddErr("price", err)
	case cents < 0:
		v.Add("price", errs.Break(errs.RuleMin, 0))
	case cents > maxPrice:
		v.Add("price", errs.Break(errs.RuleMaxAmount, maxPrice))
	default:
		return &cents
	}
	return nil
}
