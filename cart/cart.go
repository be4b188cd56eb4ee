// Package cart is the cart service (SPEC §3.4): one open cart per user, its lines, their
// validation against catalog, and checkout, which hands the cart to orders with `place_order`.
//
// A cart is append-only (docs/design.md, "Carts"): each change inserts the next immutable state
// under "<cartId>/<version>", and of two writers of one version the unique _id lets one win.
// Cart ids "<userId>:<gen>" make one open cart per user; closing is a version, so one checkout
// per cart; the closed state is the outbox of place_order, re-sent until order_placed.
package cart

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// MaxQuantity caps the quantity of one line.
const MaxQuantity = 1000

// MaxLines caps the lines of one cart. Every change stores the whole cart again and checkout
// checks each line with catalog, so an unbounded cart is a cost any user could inflate. It also
// keeps a cart within what orders accepts in one place_order (500 lines): a larger cart would
// check out, then have its place_order refused for ever — a closed cart and no order.
const MaxLines = 100

// Line is one article of a cart, in the shape the storefront also reads.
type Line = contract.CartLine

// Cart is one state of a user's cart. Enabled means open; a closed cart has been checked out,
// and OrderID is set once orders has placed its order. Its JSON is contract.Cart (toCartJSON).
type Cart struct {
	ID       string
	UserID   string
	OrderID  string
	Articles []Line
	Enabled  bool
	Created  time.Time
	Updated  time.Time

	Gen     int // the user's cart number: ID is "<UserID>:<Gen>"
	Version int // the state's number within the cart; 0 for a cart never stored
}

// cartID is the deterministic id of the user's gen-th cart.
func cartID(userID string, gen int) string { return fmt.Sprintf("%s:%d", userID, gen) }

// userOfCart returns the user of cart id, "" for an id not of that shape.
func userOfCart(id string) string {
	i := strings.LastIndex(id, ":")
	if i < 0 {
		return ""
	}
	return id[:i]
}

// newCart is the user's gen-th cart, empty and not stored yet (version 0).
func newCart(userID string, gen int, now time.Time) Cart {
	return Cart{ID: cartID(userID, gen), UserID: userID, Articles: []Line{}, Enabled: true,
		Created: now, Updated: now, Gen: gen}
}

// next returns a copy of c as its next version, to be changed and stored.
func (c Cart) next(now time.Time) Cart {
	n := c
	n.Articles = slices.Clone(c.Articles)
	if n.Articles == nil {
		n.Articles = []Line{}
	}
	n.Version++
	n.Updated = now
	return n
}

// lineIndex returns the index of the article's line, or -1 when the cart has none.
func (c Cart) lineIndex(articleID string) int {
	return slices.IndexFunc(c.Articles, func(l Line) bool { return l.ArticleID == articleID })
}

// add adds quantity of an article, as a new line or onto its existing line.
func (c *Cart) add(articleID string, quantity int) error {
	i := c.lineIndex(articleID)
	if i < 0 {
		if len(c.Articles) >= MaxLines {
			return errs.Field("articleId", errs.Break(errs.RuleCartFull, MaxLines))
		}
		c.Articles = append(c.Articles, Line{ArticleID: articleID})
		i = len(c.Articles) - 1
	}
	return c.setQuantity(i, c.Articles[i].Quantity+quantity)
}

// changeBy adds delta to the quantity of an existing line; a line at 0 is removed.
func (c *Cart) changeBy(articleID string, delta int) error {
	i := c.lineIndex(articleID)
	if i < 0 {
		return errLineNotFound(articleID)
	}
	return c.setQuantity(i, c.Articles[i].Quantity+delta)
}

// remove removes an existing line.
func (c *Cart) remove(articleID string) error {
	i := c.lineIndex(articleID)
	if i < 0 {
		return errLineNotFound(articleID)
	}
	c.Articles = slices.Delete(c.Articles, i, i+1)
	return nil
}

// setQuantity sets the quantity of line i to q, removing the line when q is 0 or less.
func (c *Cart) setQuantity(i, q int) error {
	if q > MaxQuantity {
		return errs.Field("quantity", errs.Break(errs.RuleLineTooLarge, q, MaxQuantity))
	}
	if q <= 0 {
		c.Articles = slices.Delete(c.Articles, i, i+1)
		return nil
	}
	c.Articles[i].Quantity = q
	return nil
}

// markValidation records catalog's answer for a line. It reports whether anything changed, so
// a repeated answer stores nothing.
func (c *Cart) markValidation(articleID string, valid bool) bool {
	i := c.lineIndex(articleID)
	if i < 0 || (c.Articles[i].Validated && c.Articles[i].Valid == valid) {
		return false
	}
	c.Articles[i].Validated, c.Articles[i].Valid = true, valid
	return true
}

func errLineNotFound(articleID string) error {
	return errs.Newf(errs.NotFound, "article %s is not in the cart", articleID)
}

var objectIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{24}$`)

// parseArticleID returns id in its one canonical form, lower case, or an error when it cannot
// be a catalog article id (a 24-hex ObjectId). Hex is case-insensitive, so "6B08…" and "6b08…"
// name the same article: without this they became two lines of one article, each checked
// against the stock alone and each allowed MaxQuantity.
func parseArticleID(id string) (string, error) {
	if !objectIDPattern.MatchString(id) {
		return "", errs.Field("articleId", errs.Break(errs.RuleArticleID))
	}
	return strings.ToLower(id), nil
}

// Problem is one finding of a cart validation, about one article: its English message and
// its code (SPEC §2).
type Problem = contract.CartProblem

// Report is the result of the full validation of a cart (GET /cart/validate).
type Report = contract.CartReport

// checkoutRefused is the 400 of a checkout that cannot proceed; it carries the problems found.
type checkoutRefused struct {
	reason   string
	code     errs.Code
	problems []Problem
}

func (e *checkoutRefused) Error() string        { return e.reason }
func (e *checkoutRefused) Is(target error) bool { return target == errs.Invalid }
