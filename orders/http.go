package orders

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// toOrderJSON converts o to its JSON shape, with its payment deadline after deadline (0: none);
// empty lists are [], never null.
func toOrderJSON(o Order, deadline time.Duration) contract.Order {
	j := contract.Order{
		ID: o.ID, OrderID: o.ID, Status: string(o.Status), UserID: o.UserID, CartID: o.CartID,
		Articles: []contract.OrderArticle{}, Payments: []contract.Payment{}, Refunds: []contract.Refund{},
		TotalPrice: o.TotalPrice, TotalPayment: o.TotalPayment, AmountDue: o.AmountDue(),
		Reason: o.Rejection, Created: o.Created, Updated: o.Updated,
	}
	if at, ok := o.PaymentDeadline(deadline); ok {
		j.PaymentDeadline = &at
	}
	for _, r := range o.Refunds {
		j.Refunds = append(j.Refunds, contract.Refund(r))
	}
	if c := o.Cancellation; c != nil {
		j.Cancellation = &contract.Cancellation{Reason: c.Reason, By: c.By, At: c.At}
	}
	if sh := o.Shipping; sh != nil {
		j.Shipping = &contract.Shipping{Carrier: sh.Carrier, TrackingCode: sh.TrackingCode, Shipped: sh.Shipped}
		if !sh.Delivered.IsZero() {
			d := sh.Delivered
			j.Shipping.Delivered = &d
		}
	}
	for _, a := range o.Articles {
		j.Articles = append(j.Articles, contract.OrderArticle{
			ArticleID: a.ArticleID, ID: a.ArticleID, Quantity: a.Quantity,
			IsValid: a.IsValid, Valid: a.IsValid, IsValidated: a.IsValidated, Validated: a.IsValidated,
			UnitaryPrice: a.UnitaryPrice,
		})
	}
	for _, p := range o.Payments {
		j.Payments = append(j.Payments, contract.Payment{Method: string(p.Method), Amount: p.Amount})
	}
	return j
}

// handleListOrders serves GET /orders: a page of the caller's orders, newest first, as
// summaries, with how many there are in X-Total-Count.
func handleListOrders(svc *Service, log *slog.Logger) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		var v errs.Validation
		v.Summary = "invalid listing parameters"
		page, size := web.Paging(r.URL.Query(), &v)
		if err := v.Err(); err != nil {
			return err
		}
		u, _ := tokens.UserFrom(r.Context())
		list, total, err := svc.ListPage(r.Context(), u, page, size)
		if err != nil {
			return err
		}
		out := make([]contract.OrderSummary, len(list))
		for i, o := range list {
			out[i] = contract.OrderSummary{ID: o.ID, Status: string(o.Status), CartID: o.CartID, TotalPrice: o.TotalPrice,
				TotalPayment: o.TotalPayment, Articles: len(o.Articles), Created: o.Created, Updated: o.Updated}
		}
		web.EncodePage(w, r, out, int64(total))
		return nil
	})
}

// orderID reads the {orderId} of the path; a malformed one is 400.
func orderID(r *http.Request) (string, error) {
	id := chi.URLParam(r, "orderId")
	if !ValidOrderID(id) {
		return "", errs.Newf(errs.Invalid, "malformed order id").WithCode(errs.CodeMalformedID)
	}
	return strings.ToLower(id), nil
}

// handleOrder serves the GET endpoints of one order: read is Service.GetFor (read its
// projection) or Service.RebuildFor (rebuild the projection from the events first).
func handleOrder(svc *Service, log *slog.Logger, read func(ctx context.Context, u tokens.User, orderID string) (Order, error)) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		id, err := orderID(r)
		if err != nil {
			return err
		}
		u, _ := tokens.UserFrom(r.Context())
		o, err := read(r.Context(), u, id)
		if err != nil {
			return err
		}
		web.EncodeTagged(w, r, toOrderJSON(o, svc.deadline))
		return nil
	})
}

// handleChange serves a request that changes one order (pay, cancel, ship, deliver): change
// reads the request's body, if any, and changes the order with id for u; the answer is the
// order as the change left it.
func handleChange(svc *Service, log *slog.Logger, change func(r *http.Request, u tokens.User, id string) (Order, error)) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		id, err := orderID(r)
		if err != nil {
			return err
		}
		u, _ := tokens.UserFrom(r.Context())
		o, err := change(r, u, id)
		if err != nil {
			return err
		}
		web.Encode(w, http.StatusOK, toOrderJSON(o, svc.deadline))
		return nil
	})
}

// handlePayment serves POST /orders/{orderId}/payment: the owner records a payment.
func handlePayment(svc *Service, log *slog.Logger) http.Handler {
	return handleChange(svc, log, func(r *http.Request, u tokens.User, id string) (Order, error) {
		req, err := web.DecodeLimit[paymentRequest](r, 4<<10)
		if err != nil {
			return Order{}, err
		}
		p, err := req.payment()
		if err != nil {
			return Order{}, err
		}
		return svc.Pay(r.Context(), u, id, p)
	})
}

// handleCancel serves POST /orders/{orderId}/cancel: the owner or an admin cancels the order,
// with an optional reason.
func handleCancel(svc *Service, log *slog.Logger) http.Handler {
	type request struct {
		Reason string `json:"reason"`
	}
	return handleChange(svc, log, func(r *http.Request, u tokens.User, id string) (Order, error) {
		var req request
		if r.ContentLength != 0 { // the body is optional
			var err error
			if req, err = web.DecodeLimit[request](r, 4<<10); err != nil {
				return Order{}, err
			}
		}
		req.Reason = strings.TrimSpace(req.Reason)
		if len(req.Reason) > maxReasonBytes {
			return Order{}, errs.Field("reason", errs.Break(errs.RuleMaxBytes, maxReasonBytes))
		}
		if req.Reason == "" {
			req.Reason = "cancelled"
		}
		return svc.Cancel(r.Context(), u, id, req.Reason)
	})
}

// maxReasonBytes bounds a cancellation's reason, and a carrier's name and tracking code.
const maxReasonBytes = 200

// handleShip serves POST /orders/{orderId}/ship (admins): the order leaves with a carrier.
func handleShip(svc *Service, log *slog.Logger) http.Handler {
	type request struct {
		Carrier      string `json:"carrier"`
		TrackingCode string `json:"trackingCode"`
	}
	return handleChange(svc, log, func(r *http.Request, u tokens.User, id string) (Order, error) {
		req, err := web.DecodeLimit[request](r, 4<<10)
		if err != nil {
			return Order{}, err
		}
		sh := Shipping{Carrier: strings.TrimSpace(req.Carrier), TrackingCode: strings.TrimSpace(req.TrackingCode)}
		v := errs.Validation{Summary: "invalid shipping"}
		v.Check(sh.Carrier != "" && len(sh.Carrier) <= maxReasonBytes, "carrier", errs.Break(errs.RuleLength, 1, maxReasonBytes))
		v.Check(sh.TrackingCode != "" && len(sh.TrackingCode) <= maxReasonBytes, "trackingCode", errs.Break(errs.RuleLength, 1, maxReasonBytes))
		if err := v.Err(); err != nil {
			return Order{}, err
		}
		return svc.Ship(r.Context(), u, id, sh)
	})
}

// handleDeliver serves POST /orders/{orderId}/deliver (admins).
func handleDeliver(svc *Service, log *slog.Logger) http.Handler {
	return handleChange(svc, log, func(r *http.Request, u tokens.User, id string) (Order, error) {
		return svc.Deliver(r.Context(), u, id)
	})
}

// paymentRequest is the body of POST /orders/{orderId}/payment.
type paymentRequest struct {
	Method string       `json:"method"`
	Amount money.Number `json:"amount"`
}

// payment validates the request: a known method and an amount above 0 in cents.
func (req paymentRequest) payment() (Payment, error) {
	var v errs.Validation
	v.Summary = "invalid payment"
	method := PaymentMethod(strings.ToUpper(strings.TrimSpace(req.Method)))
	v.Check(method.Valid(), "method", errs.Break(errs.RuleOneOf, []string{"CASH", "CREDIT", "DEBIT"}))
	amount, err := req.Amount.Cents()
	switch {
	case req.Amount == "":
		v.Add("amount", errs.Break(errs.RuleRequired))
	case err != nil:
		v.AddErr("amount", err)
	case amount <= 0:
		v.Add("amount", errs.Break(errs.RuleGreaterThan, 0))
	case amount > maxAmount:
		v.Add("amount", errs.Break(errs.RuleMaxAmount, maxAmount))
	}
	return Payment{Method: method, Amount: amount}, v.Err()
}

// handleStatusList serves GET /orders/status (admins): a page of the Order_Status projection.
func handleStatusList(svc *Service, log *slog.Logger) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		var v errs.Validation
		v.Summary = "invalid query"
		status := Status(strings.ToLower(strings.TrimSpace(q.Get("status"))))
		v.Check(status == "" || status.Valid(), "status", errs.Break(errs.RuleOneOf,
			[]string{"placed", "validated", "invalid", "payment_defined", "shipped", "delivered", "cancelled"}))
		page, size := web.Paging(q, &v)
		if err := v.Err(); err != nil {
			return err
		}
		items, total, err := svc.StatusPage(r.Context(), status, page, size)
		if err != nil {
			return err
		}
		out := contract.StatusPage{Items: make([]contract.OrderStatus, len(items)), Total: total}
		for i, e := range items {
			out.Items[i] = contract.OrderStatus{OrderID: e.OrderID, UserID: e.UserID, Status: string(e.Status), Updated: e.Updated}
		}
		web.Encode(w, http.StatusOK, out)
		return nil
	})
}
