package orders

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
)

// maxOrderLines bounds the lines of a place_order; a cart has far fewer.
const maxOrderLines = 500

// maxLineQuantity bounds the quantity of one line, repeated articles merged. With catalog's
// largest price it keeps every total far inside int64 cents.
const maxLineQuantity = 1_000_000

// handleOrderQueue handles the `order` queue: cart's place_order and catalog's article-data
// answers. Every case is idempotent, so redeliveries and duplicates change nothing.
func handleOrderQueue(svc *Service) bus.Handler {
	placeOrder, articleData := handlePlaceOrder(svc), handleArticleData(svc)
	return func(ctx context.Context, d bus.Delivery) error {
		switch d.Type {
		case contract.TypePlaceOrder:
			return placeOrder(ctx, d)
		case contract.TypeArticleData:
			return articleData(ctx, d)
		}
		return bus.Permanent(fmt.Errorf("unexpected message type %q on the order queue", d.Type))
	}
}

// handlePlaceOrder stores the order (once per cart) and publishes order_placed. A repeated
// place_order publishes order_placed again: cart re-sends place_order only while it has not
// seen order_placed, so the first one may have been lost; catalog and cart handle duplicates.
func handlePlaceOrder(svc *Service) bus.Handler {
	return func(ctx context.Context, d bus.Delivery) error {
		var m contract.PlaceOrder
		if err := d.Decode(&m); err != nil {
			return err
		}
		p, err := placedFrom(m)
		if err != nil {
			return bus.Permanent(fmt.Errorf("place_order: %w", err))
		}
		o, created, err := svc.Place(ctx, p)
		if err != nil {
			return err
		}
		if created {
			svc.log.InfoContext(ctx, "order placed", "order_id", o.ID, "cart_id", o.CartID, "user_id", o.UserID)
		} else {
			svc.log.InfoContext(ctx, "repeated place_order, publishing order_placed again", "order_id", o.ID, "cart_id", o.CartID)
		}
		return svc.PublishOrderPlaced(ctx, o)
	}
}

// placedFrom validates a place_order and merges repeated articles into one line.
func placedFrom(m contract.PlaceOrder) (Placed, error) {
	p := Placed{CartID: strings.TrimSpace(m.CartID), UserID: strings.TrimSpace(m.UserID)}
	switch {
	case p.CartID == "":
		return p, errors.New("cartId is required")
	case p.UserID == "":
		return p, errors.New("userId is required")
	case len(m.Articles) == 0:
		return p, errors.New("articles must not be empty")
	case len(m.Articles) > maxOrderLines:
		return p, fmt.Errorf("at most %d articles", maxOrderLines)
	}
	index := map[string]int{}
	for _, l := range m.Articles {
		id := strings.TrimSpace(l.ArticleID)
		if id == "" || l.Quantity <= 0 || l.Quantity > maxLineQuantity {
			return p, fmt.Errorf("article %q: an articleId and a quantity from 1 to %d are required", l.ArticleID, maxLineQuantity)
		}
		i, seen := index[id]
		if !seen {
			i = len(p.Lines)
			index[id] = i
			p.Lines = append(p.Lines, Line{ArticleID: id})
		}
		p.Lines[i].Quantity += l.Quantity
		// Checked after merging too: repeating an article must not get round the bound.
		if p.Lines[i].Quantity > maxLineQuantity {
			return p, fmt.Errorf("article %q: more than %d in all", id, maxLineQuantity)
		}
	}
	return p, nil
}

// handleArticleData stores catalog's answer about one article of an order, with the other
// answers of the order handled at the same time (answers.go); it returns once it is stored.
func handleArticleData(svc *Service) bus.Handler {
	return func(ctx context.Context, d bus.Delivery) error {
		var m contract.ArticleData
		if err := d.Decode(&m); err != nil {
			return err
		}
		if m.ReferenceID == "" || m.ArticleID == "" {
			return bus.Permanent(errors.New("article-data: referenceId and articleId are required"))
		}
		if m.Price < 0 {
			return bus.Permanent(fmt.Errorf("article-data: negative price %s", m.Price))
		}
		if !ValidOrderID(m.ReferenceID) {
			return bus.Permanent(fmt.Errorf("article-data: %q is not an order id", m.ReferenceID))
		}
		_, err := svc.RecordArticleData(ctx, m.ReferenceID, ArticleData{
			ArticleID: m.ArticleID, Valid: m.Valid, Price: m.Price, Stock: int(m.Stock),
		})
		return err
	}
}
