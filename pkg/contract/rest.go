package contract

import (
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
)

// The REST answers of SPEC §3 that another module reads: one Go definition each, which the
// service that writes it and the storefront's client (web/api) share, as for the messages.

// Order is an order of SPEC §3.5 (GET /orders/{id} and every change of an order).
type Order struct {
	ID           string         `json:"id"`
	OrderID      string         `json:"orderId"`
	Status       string         `json:"status"`
	UserID       string         `json:"userId"`
	CartID       string         `json:"cartId"`
	Articles     []OrderArticle `json:"articles"`
	Payments     []Payment      `json:"payments"`
	TotalPrice   money.Cents    `json:"totalPrice"`
	TotalPayment money.Cents    `json:"totalPayment"`
	AmountDue    money.Cents    `json:"amountDue"`
	// PaymentDeadline only on a validated order with a deadline.
	PaymentDeadline *time.Time `json:"paymentDeadline,omitempty"`
	// Reason says why an invalid order was refused before catalog saw it (too_many_unpaid_orders).
	Reason       string        `json:"reason,omitempty"`
	Refunds      []Refund      `json:"refunds"`
	Cancellation *Cancellation `json:"cancellation,omitempty"`
	Shipping     *Shipping     `json:"shipping,omitempty"`
	Created      time.Time     `json:"created"`
	Updated      time.Time     `json:"updated"`
}

// OrderArticle is one line of an order. ID, Valid and Validated repeat ArticleID, IsValid and
// IsValidated under the short names the course's web client reads (SPEC §3.5).
type OrderArticle struct {
	ArticleID    string      `json:"articleId"`
	ID           string      `json:"id"`
	Quantity     int         `json:"quantity"`
	IsValid      bool        `json:"isValid"`
	Valid        bool        `json:"valid"`
	IsValidated  bool        `json:"isValidated"`
	Validated    bool        `json:"validated"`
	UnitaryPrice money.Cents `json:"unitaryPrice"`
}

// Payment is one payment of an order: CASH, CREDIT or DEBIT.
type Payment struct {
	Method string      `json:"method"`
	Amount money.Cents `json:"amount"`
}

// Refund is what a cancelled order owes back.
type Refund struct {
	Amount money.Cents `json:"amount"`
	Reason string      `json:"reason"`
}

// Cancellation says who cancelled an order, when and why.
type Cancellation struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// Shipping is how a shipped order travels.
type Shipping struct {
	Carrier      string     `json:"carrier"`
	TrackingCode string     `json:"trackingCode"`
	Shipped      time.Time  `json:"shipped"`
	Delivered    *time.Time `json:"delivered,omitempty"`
}

// OrderSummary is one entry of GET /orders; Articles counts its lines.
type OrderSummary struct {
	ID           string      `json:"id"`
	Status       string      `json:"status"`
	CartID       string      `json:"cartId"`
	TotalPrice   money.Cents `json:"totalPrice"`
	TotalPayment money.Cents `json:"totalPayment"`
	Articles     int         `json:"articles"`
	Created      time.Time   `json:"created"`
	Updated      time.Time   `json:"updated"`
}

// OrderStatus is one entry of the Order_Status overview (GET /orders/status).
type OrderStatus struct {
	OrderID string    `json:"orderId"`
	UserID  string    `json:"userId"`
	Status  string    `json:"status"`
	Updated time.Time `json:"updated"`
}

// StatusPage is one page of the Order_Status overview; Total counts the entries of all pages.
type StatusPage struct {
	Items []OrderStatus `json:"items"`
	Total int64         `json:"total"`
}

// Cart is one state of a user's cart (SPEC §3.4: GET /cart and every change of a cart). Enabled
// means open; OrderID is set once orders has placed the order of a closed cart.
type Cart struct {
	ID       string     `json:"_id"`
	UserID   string     `json:"userId"`
	OrderID  string     `json:"orderId"`
	Articles []CartLine `json:"articles"`
	Enabled  bool       `json:"enabled"`
	Created  time.Time  `json:"created"`
	Updated  time.Time  `json:"updated"`
}

// CartLine is one article of a cart (SPEC §3.4). Validated says catalog has answered for it;
// Valid is its answer.
type CartLine struct {
	ArticleID string `json:"articleId"`
	Quantity  int    `json:"quantity"`
	Valid     bool   `json:"valid"`
	Validated bool   `json:"validated"`
}

// CartProblem is one finding of a cart validation, about one article: its English message and
// its code (SPEC §2).
type CartProblem struct {
	ArticleID string    `json:"articleId"`
	Message   string    `json:"message"`
	Code      errs.Code `json:"code"`
}

// CartReport is the result of the full validation of a cart (GET /cart/validate); a refused
// checkout's 400 carries its errors in the same shape.
type CartReport struct {
	Errors   []CartProblem `json:"errors"`
	Warnings []CartProblem `json:"warnings"`
}
