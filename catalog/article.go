// Package catalog is the catalog service (SPEC §3.3): articles with their price and stock, read
// by anyone and written by admins, and the stock reservations that orders need (SPEC §4).
//
// How stock is kept, and why. The obvious design, a stock field taken with a conditional update
// ({_id, stock: {$gte: q}} → {$inc: {stock: -q}}), oversells on the MongoDB-wire server we run
// (FerretDB): its conditional updates are not atomic under concurrency, and it has no
// transactions either. Unique indexes do hold, there as on MongoDB, so every rule rests on them:
//   - Stock is an append-only ledger of moves per article (ledger.go). Each move has the next
//     sequence number of its article and the running balance, and the _id "<article>/<seq>": of
//     two writers that read the same balance, only one can append the next seq; the other gets a
//     duplicate key, re-reads and decides again. The balance of the latest move is the article's
//     stock; a head document per article points near it, so it is found by _id lookups alone.
//   - Reserving an order's stock (reserve.go) decides each line with one move whose key is
//     deterministic, "<order>/<article>/reserve", under a unique index, so an order_placed
//     message delivered twice, or handled by two consumers at once, never reserves twice.
//
// Reads (GET, list, search) are answered from an in-memory read model of every article
// (view.go), kept current by this instance's writes and by the catalog_changes broadcast of the
// others (changes.go). Reservations never read it.
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
		price, err := in.Price.Cents()
		switch {
		case errors.Is(err, money.ErrTooLarge):
			v.Add("price", errs.Break(errs.RuleMaxAmount, maxPrice))
		case err != nil:
			v.AddErr("price", err)
		case price < 0:
			v.Add("price", errs.Break(errs.RuleMin, 0))
		case price > maxPrice:
			v.Add("price", errs.Break(errs.RuleMaxAmount, maxPrice))
		default:
			ch.Price = &price
		}
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
