package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/sync/errgroup"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	pkgweb "github.com/ecommerce-go/ecommerce/pkg/web"
	"github.com/ecommerce-go/ecommerce/web/api"
)

// catalogPageSize is the number of articles on a catalog page (a 4×6 or 2×12 grid).
const catalogPageSize = 24

// pager is the page links under a list.
type pager struct {
	Page, Pages int
	Prev, Next  string // links, "" when there is none
}

func newPager(page int, total int64, size int, link func(page int) string) pager {
	pages := int((total + int64(size) - 1) / int64(size))
	p := pager{Page: page, Pages: max(pages, 1)}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < pages {
		p.Next = link(page + 1)
	}
	return p
}

// pageParam reads the page query parameter (from 1) by the services' paging rule (pkg/web),
// except that a page number out of its range shows the first page rather than a 400: it comes
// from a link a person may have edited.
func pageParam(r *http.Request) int {
	var ignored errs.Validation
	page, _ := pkgweb.Paging(url.Values{"page": r.URL.Query()["page"]}, &ignored)
	return page
}

func handleCatalog(s *site) http.HandlerFunc {
	type data struct {
		Query    string
		Articles []api.Article
		Total    int64
		Pager    pager
	}
	return func(w http.ResponseWriter, r *http.Request) {
		q := strings.TrimSpace(r.URL.Query().Get("q"))
		page := pageParam(r)
		v := &view{Title: "catalog.title"}
		list, err := s.listing.Articles(r.Context(), q, page, catalogPageSize)
		if e, ok := api.AsError(err); ok && e.Status == http.StatusBadRequest {
			// A search the catalog refuses (too long, odd characters): no field to mark, the
			// search box is in the header, so the message goes above the results.
			formProblem(r, v, err)
			if m := v.Fields["q"]; m != "" {
				v.ErrorKey, v.ErrorText = "", translate(visitFrom(r.Context()).lang, "catalog.search")+": "+m
			}
			err = nil
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		link := func(p int) string {
			u := "/?page=" + strconv.Itoa(p)
			if q != "" {
				u += "&q=" + url.QueryEscape(q)
			}
			return u
		}
		v.Data = data{Query: q, Articles: list.Items, Total: list.Total, Pager: newPager(page, list.Total, catalogPageSize, link)}
		s.render(w, r, http.StatusOK, "catalog", v)
	}
}

func handleArticle(s *site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := s.api.Article(r.Context(), chi.URLParam(r, "id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "article", &view{TitleText: a.Name, Data: a})
	}
}

// handleImage serves an article's picture from the image service, so pages need no other
// origin and the browser caches it (images never change: the service's ETag and caching pass through).
func handleImage(s *site) http.HandlerFunc {
	sizes := map[string]bool{"160": true, "320": true, "640": true, "800": true}
	return func(w http.ResponseWriter, r *http.Request) {
		size := r.URL.Query().Get("size")
		if !sizes[size] {
			size = "640"
		}
		resp, err := s.api.ImageJPEG(r.Context(), chi.URLParam(r, "id"), size, r.Header.Get("If-None-Match"))
		if err != nil {
			if r.Context().Err() != nil {
				w.WriteHeader(pkgweb.StatusClientClosedRequest) // the browser left the page
				return
			}
			w.WriteHeader(apiStatus(err))
			return
		}
		defer resp.Body.Close()
		for _, h := range []string{"Content-Type", "Content-Length", "ETag", "Cache-Control"} {
			if v := resp.Header.Get(h); v != "" {
				w.Header().Set(h, v)
			}
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}
}

// apiStatus is the status a service answered with, 503 when it did not answer.
func apiStatus(err error) int {
	if e, ok := api.AsError(err); ok {
		return e.Status
	}
	return http.StatusServiceUnavailable
}

// cartLine is a cart line with its article and what the last check said about it.
type cartLine struct {
	api.CartLine
	Article  api.Article
	Missing  bool   // the catalog does not know the article any more
	Problem  string // the check's error for this line
	Warning  string // the check's warning for this line
	Subtotal api.Money
}

type cartData struct {
	Lines    []cartLine
	Total    api.Money
	Checked  bool // the page shows a full check's result
	Errors   int
	Warnings int
}

// loadCart reads the cart and the articles of its lines (in parallel).
func (s *site) loadCart(ctx context.Context, token string) (cartData, error) {
	c, err := s.api.Cart(ctx, token)
	if err != nil {
		return cartData{}, err
	}
	lines := make([]cartLine, len(c.Articles))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, l := range c.Articles {
		lines[i].CartLine = l
		g.Go(func() error {
			a, err := s.api.Article(gctx, l.ArticleID)
			if errors.Is(err, errs.NotFound) || errors.Is(err, errs.Invalid) {
				lines[i].Missing = true
				return nil
			}
			lines[i].Article = a
			lines[i].Subtotal = a.Price * api.Money(l.Quantity)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return cartData{}, err
	}
	d := cartData{Lines: lines}
	for _, l := range lines {
		d.Total += l.Subtotal
	}
	return d, nil
}

// mark puts a check's errors and warnings on their lines, in lang.
func (d *cartData) mark(lang string, errors, warnings []api.LineProblem) {
	d.Checked = true
	for i := range d.Lines {
		for _, p := range errors {
			if strings.EqualFold(p.ArticleID, d.Lines[i].ArticleID) {
				d.Lines[i].Problem = lineMessage(lang, p)
				d.Errors++
			}
		}
		for _, p := range warnings {
			if strings.EqualFold(p.ArticleID, d.Lines[i].ArticleID) {
				d.Lines[i].Warning = lineMessage(lang, p)
				d.Warnings++
			}
		}
	}
}

func handleCart(s *site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := visitFrom(r.Context()).token
		d, err := s.loadCart(r.Context(), token)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if r.URL.Query().Has("check") && len(d.Lines) > 0 {
			check, err := s.api.ValidateCart(r.Context(), token)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			d.mark(visitFrom(r.Context()).lang, check.Errors, check.Warnings)
		}
		s.render(w, r, http.StatusOK, "cart", &view{Title: "cart.title", Data: d})
	}
}

func handleCartAdd(s *site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PostFormValue("articleId")
		qty, err := strconv.Atoi(r.PostFormValue("quantity"))
		if err != nil || qty < 1 || qty > 999 {
			redirect(w, r, "/articles/"+url.PathEscape(id), "bad_quantity")
			return
		}
		if _, err := s.api.AddToCart(r.Context(), visitFrom(r.Context()).token, id, qty); err != nil {
			if e, ok := api.AsError(err); ok && e.Status == http.StatusBadRequest {
				redirect(w, r, "/articles/"+url.PathEscape(id), "bad_quantity")
				return
			}
			s.fail(w, r, err)
			return
		}
		redirect(w, r, "/cart", "added")
	}
}

// handleCartLine sets a line's quantity (0 removes it), or steps it with "+"/"-" buttons.
func handleCartLine(s *site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token, id := r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "articleId")
		var err error
		switch r.PostFormValue("action") {
		case "remove":
			_, err = s.api.RemoveFromCart(ctx, token, id)
		case "more":
			_, err = s.api.StepCartLine(ctx, token, id, true)
		case "less":
			_, err = s.api.StepCartLine(ctx, token, id, false)
		default:
			err = s.setQuantity(ctx, token, id, r.PostFormValue("quantity"))
		}
		if e, ok := api.AsError(err); ok && e.Status == http.StatusBadRequest || errors.Is(err, errBadQuantity) {
			redirect(w, r, "/cart", "bad_quantity")
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		redirect(w, r, "/cart", "updated")
	}
}

var errBadQuantity = errors.New("bad quantity")

// setQuantity makes the line hold text units: the cart API adds and steps, so the difference
// is added, or stepped down (one call per unit: quantities typed by people are small).
func (s *site) setQuantity(ctx context.Context, token, id, text string) error {
	want, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || want < 0 || want > 999 {
		return errBadQuantity
	}
	c, err := s.api.Cart(ctx, token)
	if err != nil {
		return err
	}
	have := 0
	for _, l := range c.Articles {
		if strings.EqualFold(l.ArticleID, id) {
			have = l.Quantity
		}
	}
	switch {
	case want == 0:
		_, err = s.api.RemoveFromCart(ctx, token, id)
	case want > have:
		_, err = s.api.AddToCart(ctx, token, id, want-have)
	default:
		for ; have > want && err == nil; have-- {
			_, err = s.api.StepCartLine(ctx, token, id, false)
		}
	}
	return err
}

func handleCheckout(s *site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token := r.Context(), visitFrom(r.Context()).token
		closed, err := s.api.Checkout(ctx, token)
		if e, ok := api.AsError(err); ok && e.Status == http.StatusBadRequest {
			// Refused: show the cart with the reasons next to their lines.
			d, lerr := s.loadCart(ctx, token)
			if lerr != nil {
				s.fail(w, r, lerr)
				return
			}
			lang := visitFrom(r.Context()).lang
			d.mark(lang, e.Lines, nil)
			summary, _ := apiProblem(lang, e)
			v := &view{Title: "cart.title", Data: d, ErrorText: summary}
			s.render(w, r, http.StatusBadRequest, "cart", v)
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// The order is made from the closed cart over the broker, usually within milliseconds:
		// wait a little for it, so the person lands on the order itself.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			list, err := s.api.Orders(ctx, token, 1, 5) // the new order is the newest
			if err != nil {
				break
			}
			for _, o := range list.Orders {
				if o.CartID == closed.ID {
					redirect(w, r, "/orders/"+url.PathEscape(o.ID), "order_placed")
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(150 * time.Millisecond):
			}
		}
		redirect(w, r, "/orders", "order_coming")
	}
}

// ordersPageSize is the number of orders on a page of the person's orders.
const ordersPageSize = 20

func handleOrders(s *site) http.HandlerFunc {
	type data struct {
		Orders []api.OrderSummary
		Total  int64
		Pager  pager
	}
	return func(w http.ResponseWriter, r *http.Request) {
		page := pageParam(r)
		list, err := s.api.Orders(r.Context(), visitFrom(r.Context()).token, page, ordersPageSize)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		link := func(p int) string { return "/orders?page=" + strconv.Itoa(p) }
		s.render(w, r, http.StatusOK, "orders", &view{Title: "orders.title",
			Data: data{Orders: list.Orders, Total: list.Total, Pager: newPager(page, list.Total, ordersPageSize, link)}})
	}
}

// orderData is an order with the names of its articles.
type orderData struct {
	api.Order
	Names   map[string]string
	Live    bool // the status may still change by itself: the page polls
	Payable bool
	Due     api.Money
	// Cancellable: the owner or an admin may still cancel it (placed, validated, paid).
	Cancellable bool
	// Shippable and Deliverable: what an admin may do next.
	Shippable, Deliverable bool
}

func (s *site) loadOrder(ctx context.Context, token, id string) (orderData, error) {
	o, err := s.api.Order(ctx, token, id)
	if err != nil {
		return orderData{}, err
	}
	// Only the owner pays (an admin may read anyone's order).
	owner, admin := false, false
	if u := visitFrom(ctx).user; u != nil {
		owner, admin = strings.EqualFold(u.ID, o.UserID), u.IsAdmin()
	}
	d := orderData{Order: o, Names: map[string]string{}, Live: o.Status == "placed",
		Payable: o.Status == "validated" && owner, Due: o.AmountDue,
		Cancellable: (owner || admin) && slices.Contains([]string{"placed", "validated", "payment_defined"}, o.Status),
		Shippable:   admin && o.Status == "payment_defined", Deliverable: admin && o.Status == "shipped"}
	for _, a := range o.Articles {
		if art, err := s.api.Article(ctx, a.ArticleID); err == nil {
			d.Names[a.ArticleID] = art.Name
		} else if errors.Is(err, errs.Unavailable) {
			return orderData{}, err
		}
	}
	return d, nil
}

func handleOrder(s *site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := s.loadOrder(r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v := &view{Title: "order.title", Data: d, Form: r.URL.Query()}
		s.render(w, r, http.StatusOK, "order", v)
	}
}

// handleOrderLive is the order's status block alone, which the order page's script fetches
// every few seconds while the order is still being validated.
func handleOrderLive(s *site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := s.loadOrder(r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id"))
		if err != nil {
			w.WriteHeader(apiStatus(err))
			return
		}
		s.render(w, r, http.StatusOK, "order_live", &view{Data: d})
	}
}

func handlePayment(s *site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token, id := r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")
		_ = r.ParseForm()
		v := &view{Title: "order.title", Form: r.PostForm, Fields: map[string]string{}}
		amount, perr := api.ParseMoney(r.PostFormValue("amount"))
		if perr != nil {
			v.Fields["amount"] = "form.not_amount"
		}
		if perr == nil {
			_, err := s.api.Pay(ctx, token, id, r.PostFormValue("method"), amount)
			if err == nil {
				redirect(w, r, "/orders/"+url.PathEscape(id), "paid")
				return
			}
			if !formProblem(r, v, err) {
				s.fail(w, r, err)
				return
			}
		}
		d, err := s.loadOrder(ctx, token, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Data = d
		s.render(w, r, http.StatusBadRequest, "order", v)
	}
}

// handleCancelForm is the confirmation step before cancelling an order.
func handleCancelForm(s *site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := s.loadOrder(r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "order_cancel", &view{Title: "order.cancel.title", Data: d})
	}
}

// handleCancel cancels the order once confirmed, and shows it again.
func handleCancel(s *site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token, id := r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")
		_ = r.ParseForm()
		_, err := s.api.CancelOrder(ctx, token, id, strings.TrimSpace(r.PostFormValue("reason")))
		if err == nil {
			redirect(w, r, "/orders/"+url.PathEscape(id), "cancelled")
			return
		}
		s.orderProblem(w, r, id, err)
	}
}

// handleShip records, for an admin, that a paid order left with a carrier.
func handleShip(s *site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token, id := r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")
		_ = r.ParseForm()
		_, err := s.api.ShipOrder(ctx, token, id, strings.TrimSpace(r.PostFormValue("carrier")), strings.TrimSpace(r.PostFormValue("trackingCode")))
		if err == nil {
			redirect(w, r, "/orders/"+url.PathEscape(id), "shipped")
			return
		}
		s.orderProblem(w, r, id, err)
	}
}

// handleDeliver records, for an admin, that a shipped order was delivered.
func handleDeliver(s *site) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token, id := r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")
		if _, err := s.api.DeliverOrder(ctx, token, id); err != nil {
			s.orderProblem(w, r, id, err)
			return
		}
		redirect(w, r, "/orders/"+url.PathEscape(id), "delivered")
	}
}

// orderProblem shows the order page with the service's refusal of a change above it (and
// its field messages next to the admin's shipping form).
func (s *site) orderProblem(w http.ResponseWriter, r *http.Request, id string, err error) {
	v := &view{Title: "order.title", Form: r.PostForm, Fields: map[string]string{}}
	if !formProblem(r, v, err) {
		s.fail(w, r, err)
		return
	}
	d, err := s.loadOrder(r.Context(), visitFrom(r.Context()).token, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Data = d
	s.render(w, r, http.StatusBadRequest, "order", v)
}
