// Package contract is the messaging contract of SPEC §4: where each message goes (the topology
// of exchanges and queues) and one Go definition of each message, which its producer and its
// consumers share. A service never declares a message of its own that another service reads.
package contract

import (
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/money"
)

// Exchanges of SPEC §4.
const (
	ExchangeAuth      = "auth"              // fanout: logout and user-changed broadcasts
	ExchangeCatalog   = "catalog"           // direct: requests to catalog
	ExchangeCart      = "cart"              // direct: replies to cart
	ExchangeOrder     = "order"             // direct: requests and replies to orders
	ExchangeSellFlow  = "sell_flow"         // topic: order_placed for catalog and cart, order_cancelled for catalog
	ExchangeStatusJob = "order_status_jobs" // direct: orders' batch jobs

	// A service's own broadcasts to its other instances (their read models); no other service
	// reads them, so their messages are declared by the service.
	ExchangeCatalogChanges = "catalog_changes" // fanout: article changes, to every catalog instance
	ExchangeCartChanges    = "cart_changes"    // fanout: cart changes, to every cart instance
	ExchangeOrderChanges   = "order_changes"   // fanout: order changes, to every orders instance
)

// Durable queues of SPEC §4. Each is bound to the exchange of the same name with its own name
// as key, except the two sell_flow queues, bound with KeyOrderPlaced.
const (
	QueueCatalog            = "catalog"
	QueueCart               = "cart"
	QueueOrder              = "order"
	QueueCatalogOrderPlaced = "catalog_order_placed"
	QueueCartOrderPlaced    = "cart_order_placed"
	QueueStatusJobs         = "order_status_jobs"
	// QueueCatalogOrderCancelled is bound to sell_flow with KeyOrderCancelled.
	QueueCatalogOrderCancelled = "catalog_order_cancelled"

	// KeyOrderPlaced is the sell_flow routing key of order_placed.
	KeyOrderPlaced = "order_placed"
	// KeyOrderCancelled is the sell_flow routing key of order_cancelled.
	KeyOrderCancelled = "order_cancelled"
)

// Topology is every exchange and queue of SPEC §4; every bus of the shop declares it.
var Topology = bus.Topology{
	Exchanges: []bus.Exchange{
		{Name: ExchangeAuth, Kind: bus.Fanout},
		{Name: ExchangeCatalog, Kind: bus.Direct},
		{Name: ExchangeCart, Kind: bus.Direct},
		{Name: ExchangeOrder, Kind: bus.Direct},
		{Name: ExchangeSellFlow, Kind: bus.Topic},
		{Name: ExchangeStatusJob, Kind: bus.Direct},
		{Name: ExchangeCatalogChanges, Kind: bus.Fanout},
		{Name: ExchangeCartChanges, Kind: bus.Fanout},
		{Name: ExchangeOrderChanges, Kind: bus.Fanout},
	},
	Queues: []bus.Queue{
		{Name: QueueCatalog, Exchange: ExchangeCatalog, Key: QueueCatalog},
		{Name: QueueCart, Exchange: ExchangeCart, Key: QueueCart},
		{Name: QueueOrder, Exchange: ExchangeOrder, Key: QueueOrder},
		{Name: QueueCatalogOrderPlaced, Exchange: ExchangeSellFlow, Key: KeyOrderPlaced},
		{Name: QueueCartOrderPlaced, Exchange: ExchangeSellFlow, Key: KeyOrderPlaced},
		{Name: QueueCatalogOrderCancelled, Exchange: ExchangeSellFlow, Key: KeyOrderCancelled},
		{Name: QueueStatusJobs, Exchange: ExchangeStatusJob, Key: QueueStatusJobs, MaxPriority: 10},
	},
}

// Message types, the envelope's "type".
const (
	TypeLogout       = "logout"        // Logout
	TypeUserChanged  = "user-changed"  // UserChanged
	TypeArticleValid = "article-valid" // ArticleRequest, answered with ArticleValid
	TypeArticleData  = "article-data"  // ArticleRequest, answered with ArticleData
	TypePlaceOrder   = "place_order"   // PlaceOrder
	TypeOrderPlaced  = "order_placed"  // OrderPlaced
	// TypeOrderCancelled is the type of OrderCancelled.
	TypeOrderCancelled = "order_cancelled"
)

// Logout is auth's broadcast on ExchangeAuth: the bare token that was revoked.
type Logout string

// UserChanged is auth's broadcast on ExchangeAuth that a user's permissions or enabled state
// changed: every service drops the cached answers of that user's tokens.
type UserChanged struct {
	UserID string `json:"userId"`
}

// ArticleRequest asks catalog (ExchangeCatalog, key QueueCatalog) about one article, for
// article-valid and article-data alike. ReferenceID is the asker's own (a cart id, an order id).
type ArticleRequest struct {
	ReferenceID string `json:"referenceId"`
	ArticleID   string `json:"articleId"`
}

// ArticleValid is catalog's reply to article-valid: whether the article exists and is enabled.
type ArticleValid struct {
	ReferenceID string `json:"referenceId"`
	ArticleID   string `json:"articleId"`
	Valid       bool   `json:"valid"`
}

// ArticleData is catalog's reply to article-data, and its answer per article of an
// order_placed (ReferenceID = the order id; Valid = its stock was reserved).
type ArticleData struct {
	ReferenceID string      `json:"referenceId"`
	ArticleID   string      `json:"articleId"`
	Valid       bool        `json:"valid"`
	Price       money.Cents `json:"price"`
	Stock       int64       `json:"stock"`
}

// OrderLine is one article and its quantity in PlaceOrder and OrderPlaced.
type OrderLine struct {
	ArticleID string `json:"articleId"`
	Quantity  int    `json:"quantity"`
}

// PlaceOrder is cart's request to orders (ExchangeOrder, key QueueOrder) to place the order of
// a closed cart.
type PlaceOrder struct {
	CartID   string      `json:"cartId"`
	UserID   string      `json:"userId"`
	Articles []OrderLine `json:"articles"`
}

// OrderPlaced is orders' news on ExchangeSellFlow (key KeyOrderPlaced) that it placed the
// order of a cart; catalog reserves its stock and answers ArticleData to the reply address. An
// order refused before any reservation (too many unpaid orders) names no article: cart records
// it, catalog has nothing to reserve.
type OrderPlaced struct {
	OrderID  string      `json:"orderId"`
	CartID   string      `json:"cartId"`
	UserID   string      `json:"userId"`
	Articles []OrderLine `json:"articles"`
}

// OrderCancelled is orders' news on ExchangeSellFlow (key KeyOrderCancelled) that an order was
// cancelled: catalog returns the units it reserved for the order, once per order, and reserves
// nothing for it afterwards.
type OrderCancelled struct {
	OrderID  string      `json:"orderId"`
	UserID   string      `json:"userId"`
	Reason   string      `json:"reason"`
	Articles []OrderLine `json:"articles"`
}
