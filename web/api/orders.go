package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/money"
)

// The orders service's answers, as it declares them (pkg/contract).
type (
	OrderSummary = contract.OrderSummary // one order of the user's list
	Order        = contract.Order        // one order in full
	OrderArticle = contract.OrderArticle // one line of an order
	Payment      = contract.Payment      // one payment of an order
	Refund       = contract.Refund       // what a cancelled order owes back
	Cancellation = contract.Cancellation // who cancelled an order, when and why
	Shipping     = contract.Shipping     // how a shipped order travels
	OrderStatus  = contract.OrderStatus  // one row of the Order_Status overview
	StatusPage   = contract.StatusPage   // one page of the Order_Status overview
)

// OrderPage is one page of the user's orders.
type OrderPage struct {
	Orders []OrderSummary
	Total  int64 // the user's orders, in all pages
}

// Orders returns page (from 1) of size of the user's orders, newest first.
func (c *Client) Orders(ctx context.Context, token string, page, size int) (OrderPage, error) {
	var out OrderPage
	v := url.Values{"page": {fmt.Sprint(page)}, "size": {fmt.Sprint(size)}}
	total, err := c.callPage(ctx, "orders", c.urls.Orders+"/orders?"+v.Encode(), token, &out.Orders)
	out.Total = total
	return out, err
}

// Order returns one order (its owner's or, for an admin, anyone's).
func (c *Client) Order(ctx context.Context, token, id string) (Order, error) {
	var out Order
	err := c.call(ctx, "orders", http.MethodGet, c.urls.Orders+"/orders/"+url.PathEscape(id), token, nil, &out)
	return out, err
}

// Pay defines the payment of an order.
func (c *Client) Pay(ctx context.Context, token, id, method string, amount money.Cents) (Order, error) {
	var out Order
	in := map[string]any{"method": method, "amount": amount}
	err := c.call(ctx, "orders", http.MethodPost, c.urls.Orders+"/orders/"+url.PathEscape(id)+"/payment", token, in, &out)
	return out, err
}

// OrderStatuses returns a page (from 1) of the Order_Status overview, filtered by status when set (admin).
func (c *Client) OrderStatuses(ctx context.Context, token, status string, page, size int) (StatusPage, error) {
	var out StatusPage
	v := url.Values{"page": {fmt.Sprint(page)}, "size": {fmt.Sprint(size)}}
	if status != "" {
		v.Set("status", status)
	}
	err := c.call(ctx, "orders", http.MethodGet, c.urls.Orders+"/orders/status?"+v.Encode(), token, nil, &out)
	return out, err
}

// CancelOrder cancels an order (its owner or an admin), with an optional reason.
func (c *Client) CancelOrder(ctx context.Context, token, id, reason string) (Order, error) {
	var out Order
	in := map[string]any{"reason": reason}
	err := c.call(ctx, "orders", http.MethodPost, c.urls.Orders+"/orders/"+url.PathEscape(id)+"/cancel", token, in, &out)
	return out, err
}

// ShipOrder records that a paid order left with carrier under trackingCode (admin).
func (c *Client) ShipOrder(ctx context.Context, token, id, carrier, trackingCode string) (Order, error) {
	var out Order
	in := map[string]any{"carrier": carrier, "trackingCode": trackingCode}
	err := c.call(ctx, "orders", http.MethodPost, c.urls.Orders+"/orders/"+url.PathEscape(id)+"/ship", token, in, &out)
	return out, err
}

// DeliverOrder records that a shipped order was delivered (admin).
func (c *Client) DeliverOrder(ctx context.Context, token, id string) (Order, error) {
	var out Order
	err := c.call(ctx, "orders", http.MethodPost, c.urls.Orders+"/orders/"+url.PathEscape(id)+"/deliver", token, map[string]any{}, &out)
	return out, err
}
