package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ecommerce-go/ecommerce/pkg/contract"
)

// The cart service's carts, lines and validation, as it declares them (pkg/contract).
type (
	Cart        = contract.Cart        // one state of the user's cart
	CartLine    = contract.CartLine    // one article of a cart
	LineProblem = contract.CartProblem // an error or warning about one cart line
	CartCheck   = contract.CartReport  // the answer of /cart/validate
)

// Cart returns the user's open cart.
func (c *Client) Cart(ctx context.Context, token string) (Cart, error) {
	var out Cart
	err := c.call(ctx, "cart", http.MethodGet, c.urls.Cart+"/cart", token, nil, &out)
	return out, err
}

// AddToCart adds quantity of an article to the cart.
func (c *Client) AddToCart(ctx context.Context, token, articleID string, quantity int) (Cart, error) {
	var out Cart
	in := map[string]any{"articleId": articleID, "quantity": quantity}
	err := c.call(ctx, "cart", http.MethodPost, c.urls.Cart+"/cart/article", token, in, &out)
	return out, err
}

// StepCartLine adds (+1) or takes (-1) one unit of a cart line.
func (c *Client) StepCartLine(ctx context.Context, token, articleID string, up bool) (Cart, error) {
	var out Cart
	step := "/decrement"
	if up {
		step = "/increment"
	}
	err := c.call(ctx, "cart", http.MethodPost, c.urls.Cart+"/cart/article/"+url.PathEscape(articleID)+step, token, nil, &out)
	return out, err
}

// RemoveFromCart removes a line.
func (c *Client) RemoveFromCart(ctx context.Context, token, articleID string) (Cart, error) {
	var out Cart
	err := c.call(ctx, "cart", http.MethodDelete, c.urls.Cart+"/cart/article/"+url.PathEscape(articleID), token, nil, &out)
	return out, err
}

// ValidateCart checks the whole cart against the catalog.
func (c *Client) ValidateCart(ctx context.Context, token string) (CartCheck, error) {
	var out CartCheck
	err := c.call(ctx, "cart", http.MethodGet, c.urls.Cart+"/cart/validate", token, nil, &out)
	return out, err
}

// Checkout closes the cart; a refused checkout is an *Error whose Lines say why.
func (c *Client) Checkout(ctx context.Context, token string) (Cart, error) {
	var out Cart
	err := c.call(ctx, "cart", http.MethodPost, c.urls.Cart+"/cart/checkout", token, nil, &out)
	return out, err
}
