package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
)

// messages handles what the catalog consumes: requests on the `catalog` queue and orders
// placed on `catalog_order_placed`.
type messages struct {
	log   *slog.Logger
	store *Store
	view  *articleView
	pub   bus.Publisher
}

// handleRequest answers article-valid and article-data requests to their reply address.
func (h messages) handleRequest(ctx context.Context, d bus.Delivery) error {
	if d.Type != contract.TypeArticleValid && d.Type != contract.TypeArticleData {
		return bus.Permanent(fmt.Errorf("catalog queue: unexpected message type %q", d.Type))
	}
	var req contract.ArticleRequest
	if err := d.Decode(&req); err != nil {
		return err
	}
	a, found, err := h.lookup(ctx, req.ArticleID)
	if err != nil {
		return err
	}
	valid := found && a.Enabled
	if d.Type == contract.TypeArticleValid {
		return bus.Reply(ctx, h.pub, d, contract.TypeArticleValid,
			contract.ArticleValid{ReferenceID: req.ReferenceID, ArticleID: req.ArticleID, Valid: valid})
	}
	return bus.Reply(ctx, h.pub, d, contract.TypeArticleData, contract.ArticleData{
		ReferenceID: req.ReferenceID, ArticleID: req.ArticleID, Valid: valid, Price: a.Price, Stock: a.Stock,
	})
}

// lookup reads an article from the read model (these answers decide no stock); found is false
// for a malformed or unknown id.
func (h messages) lookup(ctx context.Context, id string) (a Article, found bool, err error) {
	a, err = h.view.article(ctx, h.store, id)
	switch {
	case isUnknownArticle(err):
		return Article{}, false, nil
	case err != nil:
		return Article{}, false, err
	}
	return a, true, nil
}

// handleOrderPlaced reserves the order's stock (all or nothing, once) and answers article-data
// for each of its articles with referenceId = orderId: valid only for articles it could
// reserve, with the price and stock the reservation saw. A redelivered order only repeats the
// answers.
func (h messages) handleOrderPlaced(ctx context.Context, d bus.Delivery) error {
	if d.Type != contract.TypeOrderPlaced {
		return bus.Permanent(fmt.Errorf("catalog_order_placed queue: unexpected message type %q", d.Type))
	}
	var order contract.OrderPlaced
	if err := d.Decode(&order); err != nil {
		return err
	}
	if order.OrderID == "" {
		return bus.Permanent(errors.New("order_placed without orderId"))
	}
	lines := make([]OrderLine, len(order.Articles))
	for i, l := range order.Articles {
		lines[i] = OrderLine{ArticleID: l.ArticleID, Quantity: int64(l.Quantity)}
	}
	r, err := h.store.ReserveOrder(ctx, order.OrderID, lines)
	if err != nil {
		return err
	}
	h.log.InfoContext(ctx, "order stock", "order_id", r.OrderID, "state", r.State)
	for _, line := range r.Lines {
		reply := contract.ArticleData{
			ReferenceID: r.OrderID, ArticleID: line.ArticleID,
			Valid: line.Reserved, Price: line.Price, Stock: line.Stock,
		}
		if err := bus.Reply(ctx, h.pub, d, contract.TypeArticleData, reply); err != nil {
			return err
		}
	}
	return nil
}

// handleOrderCancelled returns the stock reserved for a cancelled order, once per order, and
// keeps any later reservation of it from taking stock (cancel.go). No reply.
func (h messages) handleOrderCancelled(ctx context.Context, d bus.Delivery) error {
	if d.Type != contract.TypeOrderCancelled {
		return bus.Permanent(fmt.Errorf("catalog_order_cancelled queue: unexpected message type %q", d.Type))
	}
	var order contract.OrderCancelled
	if err := d.Decode(&order); err != nil {
		return err
	}
	if order.OrderID == "" {
		return bus.Permanent(errors.New("order_cancelled without orderId"))
	}
	lines := make([]OrderLine, len(order.Articles))
	for i, l := range order.Articles {
		lines[i] = OrderLine{ArticleID: l.ArticleID, Quantity: int64(l.Quantity)}
	}
	r, err := h.store.CancelOrder(ctx, order.OrderID, lines)
	if err != nil {
		return err
	}
	h.log.InfoContext(ctx, "order stock returned", "order_id", r.OrderID, "reason", order.Reason)
	return nil
}
