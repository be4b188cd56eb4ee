package cart

import (
	"errors"
	"log/slog"
	"math"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// userID is the id of the signed-in user; RequireUser has put them in the context.
func userID(r *http.Request) string {
	u, _ := tokens.UserFrom(r.Context())
	return u.ID
}

// toCartJSON converts c to the shape the cart service answers (its version stays inside).
func toCartJSON(c Cart) contract.Cart {
	return contract.Cart{ID: c.ID, UserID: c.UserID, OrderID: c.OrderID, Articles: c.Articles,
		Enabled: c.Enabled, Created: c.Created, Updated: c.Updated}
}

// answer writes the cart, or returns the error for web.Handle to answer.
func answer(w http.ResponseWriter, c Cart, err error) error {
	if err != nil {
		return err
	}
	web.Encode(w, http.StatusOK, toCartJSON(c))
	return nil
}

func handleCartGet(log *slog.Logger, svc *Service) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		c, err := svc.Current(r.Context(), userID(r))
		if err != nil {
			return err
		}
		web.EncodeTagged(w, r, toCartJSON(c)) // a client polling its cart gets 304 while it is unchanged
		return nil
	})
}

func handleArticleAdd(log *slog.Logger, svc *Service) http.Handler {
	type request struct {
		ArticleID string   `json:"articleId"`
		Quantity  *float64 `json:"quantity"` // a number, so 1.5 gets a clear message
	}
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		in, err := web.Decode[request](r)
		if err != nil {
			return err
		}
		var v errs.Validation
		articleID, err := parseArticleID(in.ArticleID)
		v.Check(err == nil, "articleId", errs.Break(errs.RuleArticleID))
		switch q := in.Quantity; {
		case q == nil:
			v.Add("quantity", errs.Break(errs.RuleRequired))
		case *q != math.Trunc(*q) || *q < 1:
			v.Add("quantity", errs.Break(errs.RulePositiveInt))
		case *q > MaxQuantity:
			v.Add("quantity", errs.Break(errs.RuleMax, MaxQuantity))
		}
		if err := v.Err(); err != nil {
			return err
		}
		c, err := svc.Add(r.Context(), userID(r), articleID, int(*in.Quantity))
		return answer(w, c, err)
	})
}

func handleArticleChange(log *slog.Logger, svc *Service, delta int) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		// The course's client sends a body here; it is ignored.
		articleID, err := parseArticleID(chi.URLParam(r, "articleId"))
		if err != nil {
			return err
		}
		c, err := svc.ChangeBy(r.Context(), userID(r), articleID, delta)
		return answer(w, c, err)
	})
}

func handleArticleRemove(log *slog.Logger, svc *Service) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		articleID, err := parseArticleID(chi.URLParam(r, "articleId"))
		if err != nil {
			return err
		}
		c, err := svc.Remove(r.Context(), userID(r), articleID)
		return answer(w, c, err)
	})
}

func handleCartValidate(log *slog.Logger, svc *Service) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		report, err := svc.Validate(r.Context(), userID(r))
		if err != nil {
			return err
		}
		web.Encode(w, http.StatusOK, report)
		return nil
	})
}

func handleCheckout(log *slog.Logger, svc *Service) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		c, err := svc.Checkout(r.Context(), userID(r))
		var refused *checkoutRefused
		if errors.As(err, &refused) {
			web.Encode(w, http.StatusBadRequest, map[string]any{"error": refused.reason, "code": refused.code, "errors": refused.problems})
			return nil
		}
		return answer(w, c, err)
	})
}
