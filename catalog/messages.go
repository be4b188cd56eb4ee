package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
)

// Message types the catalog handles and sends (SPEC §4).
const (
	typeArticleValid = "article-valid"
	typeArticleData  = "article-data"
	typeOrderPlaced  = "order_placed"
)

// articleRequest is the body of article-valid and article-data requests.
type articleRequest struct {
	ReferenceID string `json:"referenceId"`
	ArticleID   string `json:"articleId"`
}

type articleValidReply struct {
	ReferenceID string `json:"referenceId"`
	ArticleID   string `json:"articleId"`
	Valid       bool   `json:"valid"`
}

type articleDataReply struct {
	ReferenceID string `json:"referenceId"`
	ArticleID   string `json:"articleId"`
	Valid       bool   `json:"valid"`
	Price       Cents  `json:"price"`
	Stock       int64  `json:"stock"`
}

// orderPlaced is the body of order_placed, published by orders on sell_flow.
type orderPlaced struct {
	OrderID  string      `json:"orderId"`
	CartID   string      `json:"cartId"`
	UserID   string      `json:"userId"`
	Articles []OrderLine `json:"articles"`
}

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
	if d.Type != typeArticleValid && d.Type != typeArticleData {
		return bus.Permanent(fmt.Errorf("catalog queue: unexpected message type %q", d.Type))
	}
	var req articleRequest
	if err := d.Decode(&req); err != nil {
		return err
	}
	a, found, err := h.lookup(ctx, req.ArticleID)
	if err != nil {
		return err
	}
	valid := found && a.Enabled
	if d.Type == typeArticleValid {
		return bus.Reply(ctx, h.pub, d, typeArticleValid,
			articleValidReply{ReferenceID: req.ReferenceID, ArticleID: req.ArticleID, Valid: valid})
	}
	return bus.Reply(ctx, h.pub, d, typeArticleData, articleDataReply{
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
	if d.Type != typeOrderPlaced {
		return bus.Permanent(fmt.Errorf("catalog_order_placed queue: unexpected message type %q", d.Type))
	}
	var order orderPlaced
	if err := d.Decode(&order); err != nil {
		return err
	}
	if order.OrderID == "" {
		return bus.Permanent(errors.New("order_placed without orderId"))
	}
	r, err := h.store.ReserveOrder(ctx, order.OrderID, order.Articles)
	if err != nil {
		return err
	}
	h.log.InfoContext(ctx, "order stock", "order_id", r.OrderID, "state", r.State)
	for _, line := range r.Lines {
		reply := articleDataReply{
			ReferenceID: r.OrderID, ArticleID: line.ArticleID,
			Valid: line.Reserved, Price: line.Price, Stock: line.Stock,
		}
		if err := bus.Reply(ctx, h.pub, d, typeArticleData, reply); err != nil {
			return err
		}
	}
	return nil
}
