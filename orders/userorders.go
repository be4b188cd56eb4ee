package orders

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Each user's list of orders, for GET /orders, numbered under deterministic ids so that no read
// queries userId (a scan of every order on FerretDB/SQLite):
//
//	user_orders       {_id: "<userId>/<n>", userId, n, orderId}   unique (orderId, userId)
//	user_order_heads  {_id: userId, n}                            an n at most headEvery behind
//
// Of two racing writers only one gets each n (the _id), and an order is listed once per user
// (the unique index). Reading the list is a chain from the head (mongox.After): its cost grows
// with the user's own orders, not with the shop's.

// userOrderDoc is one entry of a user's list of orders.
type userOrderDoc struct {
	ID      string `bson:"_id"`
	UserID  string `bson:"userId"`
	N       int    `bson:"n"`
	OrderID string `bson:"orderId"`
}

func userOrderID(userID string, n int) string { return userID + "/" + strconv.Itoa(n) }

// ListOrder adds orderID to the user's list, once however often it is called. It starts after
// the entries this instance knows, else after the head: a guess, since a taken n is refused by
// its _id and the next one tried. The head is written every headEvery entries only: readers
// look past it, and writing it each time would cost a round trip per order.
func (s *Store) ListOrder(ctx context.Context, userID, orderID string) error {
	known, cached := s.lists.entries.Get(userID)
	if slices.Contains(known, orderID) {
		return nil
	}
	n, counted := s.lists.ends.Get(userID)
	switch {
	case cached && len(known) > n:
		n = len(known)
	case !counted && !cached:
		var err error
		if n, err = s.userOrderHead(ctx, userID); err != nil {
			return err
		}
	}
	_, err := mongox.RetryOnConflict(ctx, func() (struct{}, error) {
		n++
		_, err := s.userOrders.InsertOne(ctx, userOrderDoc{ID: userOrderID(userID, n), UserID: userID, N: n, OrderID: orderID})
		if err == nil {
			if cached && n == len(known)+1 { // entries never change, so the known ones and this are the list
				s.lists.entries.Add(userID, append(slices.Clip(known), orderID))
			}
			s.lists.ends.Add(userID, n)
			if n%headEvery == 0 { // a failed write is made up for by a later one
				_, _ = s.userOrderHeads.UpdateOne(ctx, bson.D{{Key: "_id", Value: userID}},
					bson.D{{Key: "$max", Value: bson.D{{Key: "n", Value: n}}}}, options.UpdateOne().SetUpsert(true))
			}
			return struct{}{}, nil
		}
		if !mongox.IsDuplicate(err) {
			return struct{}{}, mongox.Unavailable(fmt.Errorf("list order %s: %w", orderID, err))
		}
		entry, found, err := s.userOrderAt(ctx, userID, n)
		switch {
		case err != nil:
			return struct{}{}, err
		case !found || entry.OrderID == orderID: // n is free, so the order was the duplicate
			return struct{}{}, nil
		}
		return struct{}{}, fmt.Errorf("orders of user %s: %w", userID, mongox.ErrLostRace) // n is taken: try the next
	})
	return err
}

// headEvery is how many entries of a user's list go by between two writes of its head.
const headEvery = 8

// userOrderHead returns the n the user's head records (0 when none).
func (s *Store) userOrderHead(ctx context.Context, userID string) (int, error) {
	h, _, err := mongox.FindID[struct {
		N int `bson:"n"`
	}](ctx, s.userOrderHeads, userID)
	return h.N, err
}

func (s *Store) userOrderAt(ctx context.Context, userID string, n int) (userOrderDoc, bool, error) {
	return mongox.FindID[userOrderDoc](ctx, s.userOrders, userOrderID(userID, n))
}

// listCache holds what GET /orders reads again and again. A user's entries never change once
// written (entry n names the same order forever, without gaps), so nothing has to keep them
// current; the orders themselves are in orderCache, which says what keeps it current. Bounded
// LRUs; what they miss is read from the store. ListOrder also starts after the last entry this
// instance listed (ends): a guess that a taken _id corrects.
type listCache struct {
	entries *expirable.LRU[string, []string] // user id → the order ids of entries 1, 2, …
	ends    *expirable.LRU[string, int]      // user id → the last entry this instance listed
	orders  orderCache                       // order id → the order (ordercache.go)
}

func newListCache(now func() time.Time) listCache {
	return listCache{ // a TTL of 0: nothing expires, entries only leave when the LRU is full
		entries: expirable.NewLRU[string, []string](20_000, nil, 0),
		ends:    expirable.NewLRU[string, int](20_000, nil, 0),
		orders:  newOrderCache(orderCacheTTL, now),
	}
}

// OrdersOfUser returns all the user's orders, newest first (UserOrdersPage's one page of all).
func (s *Store) OrdersOfUser(ctx context.Context, userID string) ([]Order, error) {
	list, _, err := s.UserOrdersPage(ctx, userID, 1, math.MaxInt)
	return list, err
}

// UserOrdersPage returns page (from 1) of size of the user's orders, newest first, and the
// number of entries of the user's list. Newest first is the list read from its end (Place lists
// an order before storing it), so a page reads only its own orders, and racing checkouts keep
// one order on every page. An order listed but never stored, or placed by someone else (a
// forged place_order), is left out of its page but counted in the total: telling them apart
// would read every order.
func (s *Store) UserOrdersPage(ctx context.Context, userID string, page, size int) ([]Order, int, error) {
	ids, err := s.listedOrders(ctx, userID)
	if err != nil {
		return nil, 0, err
	}
	from, to := web.PageBounds(page, size, len(ids))
	pageIDs := make([]string, 0, to-from)
	for i := len(ids) - 1 - from; i >= len(ids)-to; i-- {
		pageIDs = append(pageIDs, ids[i])
	}
	found := make([]*Order, len(pageIDs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(mongox.MaxParallel)
	for i, id := range pageIDs {
		g.Go(func() error {
			o, err := s.listedOrder(gctx, id)
			if errors.Is(err, errs.NotFound) || (err == nil && o.UserID != userID) {
				return nil
			}
			found[i] = &o
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	list := []Order{}
	for _, o := range found {
		if o != nil {
			list = append(list, *o)
		}
	}
	return list, len(ids), nil
}

// listedOrders returns the ids of the orders in the user's list, entry 1 first: the entries
// known from the cache, or else from the head (read a few at a time), then the entries after
// them until one is missing.
func (s *Store) listedOrders(ctx context.Context, userID string) ([]string, error) {
	ids, known := s.lists.entries.Get(userID)
	if !known {
		head, err := s.userOrderHead(ctx, userID)
		if err != nil {
			return nil, err
		}
		ids = make([]string, head)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(mongox.MaxParallel)
		for i := range ids {
			g.Go(func() error {
				entry, _, err := s.userOrderAt(gctx, userID, i+1)
				ids[i] = entry.OrderID
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	next := func(d userOrderDoc) any { return userOrderID(userID, d.N+1) }
	after, err := mongox.After(ctx, s.userOrders, userOrderDoc{N: len(ids)}, next)
	if err != nil {
		return nil, err
	}
	ids = slices.Clip(ids) // so that appending copies: the cached entries stay as they are
	for _, entry := range after {
		ids = append(ids, entry.OrderID)
	}
	if !slices.Contains(ids, "") { // every entry was there (there are no gaps, but never cache one)
		s.lists.entries.Add(userID, ids)
	}
	return ids, nil
}

// listedOrder returns an order of a listing: from the cache when it holds it (orderCache), else
// its projection, caught up with its events when it is placed (a placed order has no projection,
// or one written by a rebuild). What is read is cached. Only an order never stored (a placing
// that stopped after listing it) is NotFound.
func (s *Store) listedOrder(ctx context.Context, orderID string) (Order, error) {
	if orderID == "" {
		return Order{}, errNoOrder(orderID)
	}
	if o, ok := s.lists.orders.Get(orderID); ok {
		return o, nil
	}
	o, err := s.Order(ctx, orderID)
	switch {
	case errors.Is(err, errs.NotFound):
		o = Order{} // placed, or never stored: its events say which
	case err != nil:
		return o, err
	}
	if o.Status == StatusPlaced || !o.Exists() {
		later, err := s.EventsAfter(ctx, orderID, o.Version)
		if err != nil {
			return o, err
		}
		o = o.ApplyAll(later)
	}
	if !o.Exists() {
		return o, errNoOrder(orderID)
	}
	s.lists.orders.Put(o.ID, o.Version, o)
	return o, nil
}
