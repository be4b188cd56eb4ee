package web

import (
	"cmp"
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
	"github.com/ecommerce-go/ecommerce/pkg/money"
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

// pageParam reads the page query parameter (from 1) by the services' paging rule (pkg/web): a
// page number out of its range is refused (false), never changed; badPage answers it.
func pageParam(r *http.Request) (int, bool) {
	var problems errs.Validation
	page, _ := pkgweb.Paging(url.Values{"page": r.URL.Query()["page"]}, &problems)
	return page, problems.Err() == nil
}

// badPage is the 400 page of a page number out of range.
func (p *pages) badPage(w http.ResponseWriter, r *http.Request) {
	p.renderError(w, r, http.StatusBadRequest, "error.badpage")
}

func handleCatalog(p *pages, l *listingCache) http.HandlerFunc {
	type data struct {
		Query    string
		Articles []api.Article
		Total    int64
		Pager    pager
	}
	return func(w http.ResponseWriter, r *http.Request) {
		q := strings.TrimSpace(r.URL.Query().Get("q"))
		page, ok := pageParam(r)
		if !ok {
			p.badPage(w, r)
			return
		}
		v := &view{Title: "catalog.title"}
		if q != "" {
			v.TitleText = translate(visitFrom(r.Context()).lang, "catalog.results", q)
		}
		list, err := l.Articles(r.Context(), q, page, catalogPageSize)
		if e, ok := api.AsError(err); ok && e.Status == http.StatusBadRequest {
			searchProblem(visitFrom(r.Context()).lang, v, e) // a search the catalog refuses (too long, odd characters)
			err = nil
		}
		if err != nil {
			p.fail(w, r, err)
			return
		}
		link := func(n int) string {
			u := "/?page=" + strconv.Itoa(n)
			if q != "" {
				u += "&q=" + url.QueryEscape(q)
			}
			return u
		}
		v.Data = data{Query: q, Articles: list.Items, Total: list.Total, Pager: newPager(page, list.Total, catalogPageSize, link)}
		p.render(w, r, http.StatusOK, "catalog", v)
	}
}

// searchProblem shows the catalog's refusal of a search at the search field: the field
// messages of the query (or the refusal itself) under the search box.
func searchProblem(lang string, v *view, e *api.Error) {
	msg, fields := apiProblem(lang, e)
	for _, m := range fields {
		msg = m
	}
	v.Fields = map[string]string{"q": msg}
	v.ErrorKey = "catalog.search.refused"
}

func handleArticle(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, err := c.Article(r.Context(), chi.URLParam(r, "id"))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		v := &view{TitleText: a.Name, Data: a, Form: url.Values{}}
		refused(w, r, v) // a quantity the cart refused
		p.render(w, r, http.StatusOK, "article", v)
	}
}

// handleImage serves an article's picture from the image service, so pages need no other
// origin and the browser caches it (images never change: the service's ETag and caching pass through).
func handleImage(c *api.Client) http.HandlerFunc {
	sizes := map[string]bool{"160": true, "320": true, "640": true, "800": true}
	return func(w http.ResponseWriter, r *http.Request) {
		size := r.URL.Query().Get("size")
		if !sizes[size] {
			size = "640"
		}
		resp, err := c.ImageJPEG(r.Context(), chi.URLParam(r, "id"), size, r.Header.Get("If-None-Match"))
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
	Subtotal money.Cents
	// Typed and QuantityError: a quantity typed for this line and refused, shown again.
	Typed, QuantityError string
}

type cartData struct {
	Lines    []cartLine
	Total    money.Cents
	Checked  bool // the page shows a full check's result
	Errors   int
	Warnings int
}

// loadCart reads the cart and the articles of its lines (in parallel).
func loadCart(ctx context.Context, c *api.Client, token string) (cartData, error) {
	cart, err := c.Cart(ctx, token)
	if err != nil {
		return cartData{}, err
	}
	lines := make([]cartLine, len(cart.Articles))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, l := range cart.Articles {
		lines[i].CartLine = l
		g.Go(func() error {
			a, err := c.Article(gctx, l.ArticleID)
			if errors.Is(err, errs.NotFound) || errors.Is(err, errs.Invalid) {
				lines[i].Missing = true
				return nil
			}
			lines[i].Article = a
			lines[i].Subtotal = a.Price * money.Cents(l.Quantity)
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

func handleCart(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := visitFrom(r.Context()).token
		d, err := loadCart(r.Context(), c, token)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		if r.URL.Query().Has("check") && len(d.Lines) > 0 {
			check, err := c.ValidateCart(r.Context(), token)
			if err != nil {
				p.fail(w, r, err)
				return
			}
			d.mark(visitFrom(r.Context()).lang, check.Errors, check.Warnings)
		}
		v := &view{Title: "cart.title"}
		if refused(w, r, v) { // a refused quantity or checkout
			for i := range d.Lines {
				if strings.EqualFold(d.Lines[i].ArticleID, v.Value("line")) {
					d.Lines[i].Typed, d.Lines[i].QuantityError = v.Value("quantity"), v.Field("quantity")
				}
			}
		}
		v.Data = d
		p.render(w, r, http.StatusOK, "cart", v)
	}
}

// handleCartAdd adds the article page's quantity to the cart. A quantity out of range, or an
// article no longer sold, goes back to the article page with the problem at the quantity.
func handleCartAdd(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, id := r.Context(), r.PostFormValue("articleId")
		back := "/articles/" + url.PathEscape(id)
		v := &view{Form: formWithout(r), Fields: map[string]string{}}
		qty, ok := readQuantity(r.PostFormValue("quantity"), 1)
		if !ok {
			v.Fields["quantity"] = "form.quantity"
			refuse(w, r, back, v)
			return
		}
		a, err := c.Article(ctx, id)
		switch {
		case errors.Is(err, errs.NotFound) || errors.Is(err, errs.Invalid):
			p.renderError(w, r, http.StatusNotFound, "error.noarticle")
			return
		case err != nil:
			p.fail(w, r, err)
			return
		case !a.Enabled:
			v.ErrorKey = "article.add.gone"
			refuse(w, r, back, v)
			return
		}
		if _, err := c.AddToCart(ctx, visitFrom(ctx).token, id, qty); err != nil {
			if e, ok := api.AsError(err); ok && e.Status == http.StatusBadRequest {
				v.Fields["quantity"] = cmp.Or(e.Field("quantity"), e.Message)
				refuse(w, r, back, v)
				return
			}
			p.fail(w, r, err)
			return
		}
		redirect(w, r, "/cart", "added")
	}
}

// readQuantity reads a quantity typed by a person, from lo to 999.
func readQuantity(text string, lo int) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(text))
	return n, err == nil && n >= lo && n <= 999
}

// handleCartLine sets a line's quantity (0 removes it), or steps it with "+"/"-" buttons.
func handleCartLine(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token, id := r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "articleId")
		var err error
		switch r.PostFormValue("action") {
		case "remove":
			_, err = c.RemoveFromCart(ctx, token, id)
		case "more":
			_, err = c.StepCartLine(ctx, token, id, true)
		case "less":
			_, err = c.StepCartLine(ctx, token, id, false)
		default:
			err = setQuantity(ctx, c, token, id, r.PostFormValue("quantity"))
		}
		if e, ok := api.AsError(err); ok && e.Status == http.StatusBadRequest || errors.Is(err, errBadQuantity) {
			v := &view{Form: url.Values{"line": {id}, "quantity": {r.PostFormValue("quantity")}},
				Fields: map[string]string{"quantity": "form.quantity.line"}}
			if e, ok := api.AsError(err); ok {
				v.Fields["quantity"] = cmp.Or(e.Field("quantity"), e.Message)
			}
			refuse(w, r, "/cart", v)
			return
		}
		if err != nil {
			p.fail(w, r, err)
			return
		}
		redirect(w, r, "/cart", "updated")
	}
}

var errBadQuantity = errors.New("bad quantity")

// setQuantity makes the line hold text units: the cart API adds and steps, so the difference
// is added, or stepped down (one call per unit: quantities typed by people are small).
func setQuantity(ctx context.Context, c *api.Client, token, id, text string) error {
	want, ok := readQuantity(text, 0)
	if !ok {
		return errBadQuantity
	}
	cart, err := c.Cart(ctx, token)
	if err != nil {
		return err
	}
	have := 0
	for _, l := range cart.Articles {
		if strings.EqualFold(l.ArticleID, id) {
			have = l.Quantity
		}
	}
	switch {
	case want == 0:
		_, err = c.RemoveFromCart(ctx, token, id)
	case want > have:
		_, err = c.AddToCart(ctx, token, id, want-have)
	default:
		for ; have > want && err == nil; have-- {
			_, err = c.StepCartLine(ctx, token, id, false)
		}
	}
	return err
}

// handleCheckout first runs the cart's full check: anything that would make the order invalid
// (an error, or a warning of too little stock) is shown on the cart and nothing is ordered.
// Then it checks out and waits a moment for the order, to show it.
func handleCheckout(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token := r.Context(), visitFrom(r.Context()).token
		check, err := c.ValidateCart(ctx, token)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		if len(check.Errors) > 0 || len(check.Warnings) > 0 {
			refuse(w, r, "/cart?check=1", &view{ErrorKey: "cart.not_ordered"})
			return
		}
		closed, err := c.Checkout(ctx, token)
		if e, ok := api.AsError(err); ok && e.Status == http.StatusBadRequest {
			// Refused after all (the cart changed meanwhile, or it is empty): the cart's
			// check shows the reasons next to their lines.
			summary, _ := apiProblem(visitFrom(r.Context()).lang, e)
			refuse(w, r, "/cart?check=1", &view{ErrorKey: "cart.not_ordered", ErrorText: summary})
			return
		}
		if err != nil {
			p.fail(w, r, err)
			return
		}
		// The order is made from the closed cart over the broker, usually within milliseconds:
		// wait a little for it, so the person lands on the order itself.
		wait, cancel := context.WithTimeout(ctx, orderWait)
		defer cancel()
		for {
			list, err := c.Orders(wait, token, 1, 5) // the new order is the newest
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
			case <-wait.Done():
			case <-time.After(150 * time.Millisecond):
				continue
			}
			break
		}
		if ctx.Err() != nil {
			return
		}
		redirect(w, r, "/orders", "order_coming")
	}
}

// orderWait is how long a checkout waits for its order to show it.
const orderWait = 5 * time.Second

// ordersPageSize is the number of orders on a page of the person's orders.
const ordersPageSize = 20

// orderRow is one order of the person's list, with the units it holds.
type orderRow struct {
	api.OrderSummary
	Units int
}

// handleOrders lists the person's orders. The list counts lines, not units, so each order of
// the page is read (a page is at most ordersPageSize orders, read a few at a time).
func handleOrders(p *pages, c *api.Client) http.HandlerFunc {
	type data struct {
		Orders []orderRow
		Total  int64
		Pager  pager
	}
	return func(w http.ResponseWriter, r *http.Request) {
		page, ok := pageParam(r)
		if !ok {
			p.badPage(w, r)
			return
		}
		ctx, token := r.Context(), visitFrom(r.Context()).token
		list, err := c.Orders(ctx, token, page, ordersPageSize)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		rows := make([]orderRow, len(list.Orders))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for i, o := range list.Orders {
			rows[i].OrderSummary = o
			g.Go(func() error {
				full, err := c.Order(gctx, token, o.ID)
				for _, a := range full.Articles {
					rows[i].Units += a.Quantity
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			p.fail(w, r, err)
			return
		}
		link := func(n int) string { return "/orders?page=" + strconv.Itoa(n) }
		p.render(w, r, http.StatusOK, "orders", &view{Title: "orders.title",
			Data: data{Orders: rows, Total: list.Total, Pager: newPager(page, list.Total, ordersPageSize, link)}})
	}
}

// orderData is an order with the names of its articles.
type orderData struct {
	api.Order
	Names   map[string]string
	Live    bool // the status may still change by itself: the page polls
	Payable bool
	Due     money.Cents
	// Cancellable: the owner or an admin may still cancel it (placed, validated, paid).
	Cancellable bool
	// Shippable and Deliverable: what an admin may do next.
	Shippable, Deliverable bool
}

func loadOrder(ctx context.Context, c *api.Client, token, id string) (orderData, error) {
	o, err := c.Order(ctx, token, id)
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
		if art, err := c.Article(ctx, a.ArticleID); err == nil {
			d.Names[a.ArticleID] = art.Name
		} else if errors.Is(err, errs.Unavailable) {
			return orderData{}, err
		}
	}
	return d, nil
}

func handleOrder(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := loadOrder(r.Context(), c, visitFrom(r.Context()).token, chi.URLParam(r, "id"))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		v := &view{TitleText: translate(visitFrom(r.Context()).lang, "order.numbered", orderNumber(d.ID)), Data: d, Form: url.Values{}}
		refused(w, r, v) // a refused payment, cancellation or shipping
		p.render(w, r, http.StatusOK, "order", v)
	}
}

// handleOrderLive is the order's status block alone, which the order page's script fetches
// every few seconds while the order is still being validated.
func handleOrderLive(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := loadOrder(r.Context(), c, visitFrom(r.Context()).token, chi.URLParam(r, "id"))
		if err != nil {
			w.WriteHeader(apiStatus(err))
			return
		}
		p.render(w, r, http.StatusOK, "order_live", &view{Data: d})
	}
}

// handlePayment pays the order with the amount typed in the page's language.
func handlePayment(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token, id := r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")
		back := "/orders/" + url.PathEscape(id)
		v := &view{Form: formWithout(r), Fields: map[string]string{}}
		amount, ok := readAmount(r, v, "amount")
		if !ok {
			refuse(w, r, back, v)
			return
		}
		_, err := c.Pay(ctx, token, id, r.PostFormValue("method"), amount)
		if err == nil {
			redirect(w, r, back, "paid")
			return
		}
		if !formProblem(r, v, err) {
			p.fail(w, r, err)
			return
		}
		refuse(w, r, back, v)
	}
}

// readAmount reads the amount typed in the field name, written the page's way (1.234,50 in
// Spanish, 1,234.50 in English); a problem goes to the field.
func readAmount(r *http.Request, v *view, name string) (money.Cents, bool) {
	c, err := notationOf(visitFrom(r.Context()).lang).Parse(r.PostFormValue(name))
	switch {
	case errors.Is(err, money.ErrPrecision):
		v.Fields[name] = "form.amount_decimals"
	case err != nil:
		v.Fields[name] = "form.not_amount"
	}
	return c, err == nil
}

// handleCancelForm is the confirmation step before cancelling an order.
func handleCancelForm(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d, err := loadOrder(r.Context(), c, visitFrom(r.Context()).token, chi.URLParam(r, "id"))
		if err != nil {
			p.fail(w, r, err)
			return
		}
		p.render(w, r, http.StatusOK, "order_cancel", &view{TitleText: translate(visitFrom(r.Context()).lang, "order.cancel.numbered", orderNumber(d.ID)), Data: d})
	}
}

// handleCancel cancels the order once confirmed, and shows it again.
func handleCancel(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token, id := r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")
		_ = r.ParseForm()
		_, err := c.CancelOrder(ctx, token, id, strings.TrimSpace(r.PostFormValue("reason")))
		if err == nil {
			redirect(w, r, "/orders/"+url.PathEscape(id), "cancelled")
			return
		}
		p.orderProblem(w, r, id, err)
	}
}

// handleShip records, for an admin, that a paid order left with a carrier.
func handleShip(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token, id := r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")
		_ = r.ParseForm()
		_, err := c.ShipOrder(ctx, token, id, strings.TrimSpace(r.PostFormValue("carrier")), strings.TrimSpace(r.PostFormValue("trackingCode")))
		if err == nil {
			redirect(w, r, "/orders/"+url.PathEscape(id), "shipped")
			return
		}
		p.orderProblem(w, r, id, err)
	}
}

// handleDeliver records, for an admin, that a shipped order was delivered.
func handleDeliver(p *pages, c *api.Client) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, token, id := r.Context(), visitFrom(r.Context()).token, chi.URLParam(r, "id")
		if _, err := c.DeliverOrder(ctx, token, id); err != nil {
			p.orderProblem(w, r, id, err)
			return
		}
		redirect(w, r, "/orders/"+url.PathEscape(id), "delivered")
	}
}

// orderProblem shows the order page again with the service's refusal of a change above it (and
// its field messages next to the admin's shipping form).
func (p *pages) orderProblem(w http.ResponseWriter, r *http.Request, id string, err error) {
	v := &view{Form: formWithout(r), Fields: map[string]string{}}
	if !formProblem(r, v, err) {
		p.fail(w, r, err)
		return
	}
	refuse(w, r, "/orders/"+url.PathEscape(id), v)
}

// orderNumber is the number people read and quote for the order id: its first ten hex digits,
// in two groups ("4F2A9-0C1D7"). Order ids are hashes, so the digits are spread evenly.
func orderNumber(id string) string {
	n := strings.ToUpper(id)
	if len(n) < 10 {
		return n
	}
	return n[:5] + "-" + n[5:10]
}
