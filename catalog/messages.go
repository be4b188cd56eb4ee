package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
)

// handleCatalogRequest answers article-valid and article-data requests on the `catalog` queue
// to their reply address, from the read model (these answers decide no stock).
func handleCatalogRequest(store *Store, view *articleView, pub bus.Publisher) bus.Handler {
	return func(ctx context.Context, d bus.Delivery) error {
		if d.Type != contract.TypeArticleValid && d.Type != contract.TypeArticleData {
			return bus.Permanent(fmt.Errorf("catalog queue: unexpected message type %q", d.Type))
		}
		var req contract.ArticleRequest
		if err := d.Decode(&req); err != nil {
			return err
		}
		a, found, err := lookupArticle(ctx, store, view, req.ArticleID)
		if err != nil {
			return err
		}
		valid := found && a.Enabled
		if d.Type == contract.TypeArticleValid {
			return bus.Reply(ctx, pub, d, contract.TypeArticleValid,
				contract.ArticleValid{ReferenceID: req.ReferenceID, ArticleID: req.ArticleID, Valid: valid})
		}
		return bus.Reply(ctx, pub, d, contract.TypeArticleData, contract.ArticleData{
			ReferenceID: req.ReferenceID, ArticleID: req.ArticleID, Valid: valid, Price: a.Price, Stock: a.Stock,
		})
	}
}

// lookupArticle reads an article from the read model; found is false for a malformed or
// unknown id.
func lookupArticle(ctx context.Context, store *Store, view *articleView, id string) (a Article, found bool, err error) {
	a, err = view.article(ctx, store, id)
	switch {
	case isUnknownArticle(err):
		return Article{}, false, nil
	case err != nil:
		return Article{}, false, err
	}
	return a, true, nil
}

// handleOrderPlaced reserves the stock of an order on `catalog_order_placed` (all or nothing,
// once) and answers article-data for each of its articles with referenceId = orderId: valid only
// for articles it reserved, with the price and stock the reservation saw. A redelivered order
// only repeats the answers.
func handleOrderPlaced(log *slog.Logger, store *Store, pub bus.Publisher) bus.Handler {
	return func(ctx context.Context, d bus.Delivery) error {
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
		r, err := store.ReserveOrder(ctx, order.OrderID, orderLines(order.Articles))
		if err != nil {
			return err
		}
		log.InfoContext(ctx, "order stock", "order_id", r.OrderID, "state", r.State)
		for _, line := range r.Lines {
			reply := contract.ArticleData{
				ReferenceID: r.OrderID, ArticleID: line.ArticleID,
				Valid: line.Reserved, Price: line.Price, Stock: line.Stock,
			}
			if err := bus.Reply(ctx, pub, d, contract.TypeArticleData, reply); err != nil {
				return err
			}
		}
		return nil
	}
}

// handleOrderCancelled returns the stock reserved for an order cancelled on
// `catalog_order_cancelled`, once per order, and keeps any later reservation of it from taking
// stock (cancel.go). No reply.
func handleOrderCancelled(log *slog.Logger, store *Store) bus.Handler {
	return func(ctx context.Context, d bus.Delivery) error {
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
		r, err := store.CancelOrder(ctx, order.OrderID, orderLines(order.Articles))
		if err != nil {
			return err
		}
		log.InfoContext(ctx, "order stock returned", "order_id", r.OrderID, "reason", order.Reason)
		return nil
	}
}

// orderLines converts the lines of an order message.
func orderLines(articles []contract.OrderLine) []OrderLine {
	lines := make([]OrderLine, len(articles))
	for i, l := range articles {
		lines[i] = OrderLine{ArticleID: l.ArticleID, Quantity: int64(l.Quantity)}
	}
	return lines
}
