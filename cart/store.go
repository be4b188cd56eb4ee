package cart

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// errVersionTaken is returned by Append when another writer stored that version first.
var errVersionTaken = fmt.Errorf("the cart changed meanwhile: %w", mongox.ErrLostRace)

// Store keeps the states of carts in MongoDB, append-only (see the package comment and
// docs/design.md, "Carts"). Each user has a head in cart_heads, a copy of a recent open state of
// their newest cart: it may lag, never lead, and Latest looks past it by _id. Each closed cart
// has a pointer in cart_closed, written after its closed state, that records its order; the
// pointers without one are the place_order outbox. A missing pointer (its writer stopped after
// the state) is made up for by RecordOrder and by AddMissingPointers.
type Store struct {
	states *mongo.Collection
	heads  *mongo.Collection
	closed *mongo.Collection
}

// NewStore returns the store of db, creating its indexes; it reads no data. None of the indexes
// is unique: what makes writers of one version collide is the _id of a state (see stateDoc).
func NewStore(ctx context.Context, db *mongo.Database) (*Store, error) {
	s := &Store{states: db.Collection("cart_states"), heads: db.Collection("cart_heads"), closed: db.Collection("cart_closed")}
	err := mongox.EnsureIndexes(ctx, s.states,
		mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}, {Key: "gen", Value: -1}, {Key: "version", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "cartId", Value: 1}, {Key: "version", Value: -1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "enabled", Value: 1}, {Key: "updated", Value: 1}}},
	)
	if err != nil {
		return nil, err
	}
	err = mongox.EnsureIndexes(ctx, s.closed,
		mongo.IndexModel{Keys: bson.D{{Key: "orderId", Value: 1}, {Key: "closed", Value: 1}}})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// QuotaSlots is the collection of the checkout quota's slots (see quota.Slots), in the store's
// database.
func (s *Store) QuotaSlots() *mongo.Collection { return s.states.Database().Collection("quota_slots") }

// stateDoc is one stored state of a cart. Its _id "<cartId>/<version>" is what makes
// concurrent writers of one version collide.
type stateDoc struct {
	ID       string    `bson:"_id"`
	CartID   string    `bson:"cartId"`
	UserID   string    `bson:"userId"`
	Gen      int       `bson:"gen"`
	Version  int       `bson:"version"`
	Articles []lineDoc `bson:"articles"`
	Enabled  bool      `bson:"enabled"`
	Created  time.Time `bson:"created"`
	Updated  time.Time `bson:"updated"`
}

// lineDoc is one line of a stored state.
type lineDoc struct {
	ArticleID string `bson:"articleId"`
	Quantity  int    `bson:"quantity"`
	Valid     bool   `bson:"valid"`
	Validated bool   `bson:"validated"`
}

func toDoc(c Cart) stateDoc {
	d := stateDoc{ID: stateID(c.ID, c.Version), CartID: c.ID, UserID: c.UserID,
		Gen: c.Gen, Version: c.Version, Enabled: c.Enabled,
		Created: c.Created, Updated: c.Updated, Articles: make([]lineDoc, len(c.Articles))}
	for i, l := range c.Articles {
		d.Articles[i] = lineDoc(l)
	}
	return d
}

// stateID is the _id of version of cart id.
func stateID(id string, version int) string { return id + "/" + strconv.Itoa(version) }

func (d stateDoc) cart() Cart {
	c := Cart{ID: d.CartID, UserID: d.UserID, Enabled: d.Enabled,
		Created: d.Created.UTC(), Updated: d.Updated.UTC(), Gen: d.Gen, Version: d.Version,
		Articles: make([]Line, len(d.Articles))}
	for i, l := range d.Articles {
		c.Articles[i] = Line(l)
	}
	return c
}

// closedDoc points at the closed state of a cart (a cart closes once, in its last version) and
// records the cart's order: OrderID is "" until order_placed comes back.
type closedDoc struct {
	CartID  string    `bson:"_id"`
	UserID  string    `bson:"userId"`
	Version int       `bson:"version"`
	OrderID string    `bson:"orderId"`
	Closed  time.Time `bson:"closed"`
}

func pointerOf(c Cart) closedDoc {
	return closedDoc{CartID: c.ID, UserID: c.UserID, Version: c.Version, OrderID: c.OrderID, Closed: c.Updated}
}

// headDoc is a user's head: a copy of a recent state of their newest cart.
type headDoc struct {
	UserID string   `bson:"_id"`
	State  stateDoc `bson:"state"`
}

// Latest returns the latest state of the user's newest cart (open or closed), or NotFound when
// the user never had one: the head, then the states after it (see Store). A closed cart's order
// is not in it but in its pointer (see Get).
func (s *Store) Latest(ctx context.Context, userID string) (Cart, error) {
	h, found, err := mongox.FindID[headDoc](ctx, s.heads, userID)
	if err != nil {
		return Cart{}, err
	}
	head := h.State
	if !found { // no head yet: start before the user's first cart
		head = stateDoc{UserID: userID, Gen: 0, Enabled: false}
	}
	latest, moved, err := mongox.LatestAfter(ctx, s.states, head, nextState)
	switch {
	case err != nil:
		return Cart{}, err
	case !found && !moved:
		return Cart{}, fmt.Errorf("cart of user %s: %w", userID, errs.NotFound)
	}
	return latest.cart(), nil
}

// nextState is the _id of the state after d: the next version of an open cart, or the first
// version of the user's next cart after a closed one.
func nextState(d stateDoc) any {
	if !d.Enabled {
		return stateID(cartID(d.UserID, d.Gen+1), 1)
	}
	return stateID(cartID(d.UserID, d.Gen), d.Version+1)
}

// Get returns the latest state of cart id, with the order recorded on its pointer when it is
// closed, or NotFound. It queries by cart id and sorts, which only MongoDB answers from an
// index: it serves tests, never a request.
func (s *Store) Get(ctx context.Context, id string) (Cart, error) {
	c, err := s.latestOf(ctx, id)
	if err != nil || c.Enabled {
		return c, err
	}
	var p closedDoc
	err = s.closed.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&p)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments): // no pointer yet: no order recorded
	case err != nil:
		return Cart{}, mongox.Unavailable(fmt.Errorf("read closed cart %s: %w", id, err))
	default:
		c.OrderID = p.OrderID
	}
	return c, nil
}

// latestOf returns the latest stored state of cart id, or NotFound, by a query on cartId.
func (s *Store) latestOf(ctx context.Context, id string) (Cart, error) {
	var d stateDoc
	err := s.states.FindOne(ctx, bson.D{{Key: "cartId", Value: id}},
		options.FindOne().SetSort(bson.D{{Key: "version", Value: -1}})).Decode(&d)
	if err != nil {
		return Cart{}, mongox.NotFound(err, "cart "+id)
	}
	return d.cart(), nil
}

// Append stores c as a new state, then either as its user's head (an open state) or as the
// cart's pointer (the closed state). It fails with errVersionTaken when that version of the
// cart exists already: a concurrent writer got there first.
//
// A closed state is not written to the head: Latest finds it one lookup past the head, and the
// next cart's first state replaces the head anyway.
func (s *Store) Append(ctx context.Context, c Cart) error {
	d := toDoc(c)
	_, err := s.states.InsertOne(ctx, d)
	switch {
	case mongox.IsDuplicate(err):
		return errVersionTaken
	case err != nil:
		return mongox.Unavailable(fmt.Errorf("store cart %s: %w", c.ID, err))
	}
	// A failed write here is left to be made up for: Latest looks past a lagging head; a
	// missing pointer is written by RecordOrder (a query) or AddMissingPointers (a scan).
	if c.Enabled {
		_, _ = s.heads.ReplaceOne(ctx, bson.D{{Key: "_id", Value: c.UserID}}, headDoc{UserID: c.UserID, State: d},
			options.Replace().SetUpsert(true))
	} else {
		_, _ = s.closed.InsertOne(ctx, pointerOf(c))
	}
	return nil
}

// RecordOrder records orderID on the pointer of the closed cart id of userID, by _id, and
// reports whether it matched: the cart is closed, userID's, with no other order recorded. Its
// conditional update is not atomic on FerretDB, which is safe because orders derives the order
// id from the cart id: racing order_placed messages for one cart carry the same order.
func (s *Store) RecordOrder(ctx context.Context, id, userID, orderID string) (bool, error) {
	found, err := s.setPointerOrder(ctx, id, userID, orderID)
	if err != nil || found {
		return found, err
	}
	return s.recordOrderSlowly(ctx, id, userID, orderID)
}

// setPointerOrder sets orderID on the pointer of cart id if it is userID's and records no other
// order.
func (s *Store) setPointerOrder(ctx context.Context, id, userID, orderID string) (bool, error) {
	res, err := s.closed.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "userId", Value: userID},
			{Key: "orderId", Value: bson.D{{Key: "$in", Value: bson.A{"", orderID}}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "orderId", Value: orderID}}}})
	if err != nil {
		return false, mongox.Unavailable(fmt.Errorf("record order of cart %s: %w", id, err))
	}
	return res.MatchedCount > 0, nil
}

// recordOrderSlowly is RecordOrder when the pointer's update matched nothing: the pointer is
// another user's or has another order (nothing to record), or it is missing (its writer stopped
// after the closed state).
func (s *Store) recordOrderSlowly(ctx context.Context, id, userID, orderID string) (bool, error) {
	var p closedDoc
	err := s.closed.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&p)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return s.recordOrderWithoutPointer(ctx, id, userID, orderID)
	case err != nil:
		return false, mongox.Unavailable(fmt.Errorf("read closed cart %s: %w", id, err))
	}
	return p.UserID == userID && p.OrderID == orderID, nil // (raced: this order, recorded meanwhile)
}

// recordOrderWithoutPointer is RecordOrder for a closed cart without a pointer: it finds the
// closed state by a query on cartId and writes the pointer, with the order.
func (s *Store) recordOrderWithoutPointer(ctx context.Context, id, userID, orderID string) (bool, error) {
	var d stateDoc
	err := s.states.FindOne(ctx, bson.D{{Key: "cartId", Value: id}, {Key: "enabled", Value: false}}).Decode(&d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return false, nil
	case err != nil:
		return false, mongox.Unavailable(fmt.Errorf("read closed cart %s: %w", id, err))
	case d.UserID != userID:
		return false, nil
	}
	p := pointerOf(d.cart())
	p.OrderID = orderID
	_, err = s.closed.InsertOne(ctx, p)
	switch {
	case mongox.IsDuplicate(err): // written meanwhile: record on it
		return s.setPointerOrder(ctx, id, userID, orderID)
	case err != nil:
		return false, mongox.Unavailable(fmt.Errorf("record order of cart %s: %w", id, err))
	}
	return true, nil
}

// AwaitingOrder returns up to limit closed carts, closed before `before`, whose order has not
// been confirmed yet: their `place_order` must be sent again. They are the pointers without an
// order, each read with its closed state by _id.
func (s *Store) AwaitingOrder(ctx context.Context, before time.Time, limit int) ([]Cart, error) {
	cur, err := s.closed.Find(ctx, bson.D{{Key: "orderId", Value: ""}, {Key: "closed", Value: bson.D{{Key: "$lt", Value: before}}}},
		options.Find().SetSort(bson.D{{Key: "closed", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, mongox.Unavailable(fmt.Errorf("find closed carts: %w", err))
	}
	var pointers []closedDoc
	if err := cur.All(ctx, &pointers); err != nil {
		return nil, mongox.Unavailable(fmt.Errorf("read closed carts: %w", err))
	}
	carts := make([]Cart, 0, len(pointers))
	for _, p := range pointers {
		var d stateDoc
		err := s.states.FindOne(ctx, bson.D{{Key: "_id", Value: stateID(p.CartID, p.Version)}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // a pointer with no state: nothing to send
		}
		if err != nil {
			return nil, mongox.Unavailable(fmt.Errorf("read closed cart %s: %w", p.CartID, err))
		}
		carts = append(carts, d.cart())
	}
	return carts, nil
}

// AddMissingPointers writes the missing pointers of the carts closed since `since`, and reports
// how many it wrote. A pointer goes missing when its writer stops between the closed state and
// the pointer; AwaitingOrder would never see that cart. Finding them means scanning closed
// states (on FerretDB, every state), so this runs rarely, over a recent window (see Run).
func (s *Store) AddMissingPointers(ctx context.Context, since time.Time) (int, error) {
	closed, err := s.find(ctx, bson.D{{Key: "enabled", Value: false},
		{Key: "updated", Value: bson.D{{Key: "$gte", Value: since}}}},
		options.Find().SetProjection(bson.D{{Key: "articles", Value: 0}}))
	if err != nil || len(closed) == 0 {
		return 0, err
	}
	ids := make([]any, len(closed))
	for i, c := range closed {
		ids[i] = c.ID
	}
	have, err := mongox.FindIn[struct {
		ID string `bson:"_id"`
	}](ctx, s.closed, "_id", ids, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return 0, fmt.Errorf("find closed cart pointers: %w", err)
	}
	written := map[string]bool{}
	for _, p := range have {
		written[p.ID] = true
	}
	added := 0
	for _, c := range closed {
		if written[c.ID] {
			continue
		}
		_, err := s.closed.InsertOne(ctx, pointerOf(c))
		switch {
		case mongox.IsDuplicate(err): // written meanwhile
		case err != nil:
			return added, mongox.Unavailable(fmt.Errorf("write pointer of closed cart %s: %w", c.ID, err))
		default:
			added++
		}
	}
	return added, nil
}

// RecentOpen returns the latest states of up to limit open carts, the most recently changed
// first. Along the way it may return carts closed since; callers must tolerate that.
func (s *Store) RecentOpen(ctx context.Context, limit int) ([]Cart, error) {
	// A cart has several open states; read more than limit, keep each cart's latest.
	states, err := s.find(ctx, bson.D{{Key: "enabled", Value: true}},
		options.Find().SetSort(bson.D{{Key: "updated", Value: -1}}).SetLimit(int64(4*limit)))
	if err != nil {
		return nil, err
	}
	latest := map[string]int{}
	var carts []Cart
	for _, c := range states {
		if i, seen := latest[c.ID]; seen {
			if c.Version > carts[i].Version {
				carts[i] = c
			}
			continue
		}
		if len(carts) == limit {
			continue
		}
		latest[c.ID] = len(carts)
		carts = append(carts, c)
	}
	return carts, nil
}

func (s *Store) find(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) ([]Cart, error) {
	cur, err := s.states.Find(ctx, filter, opts)
	if err != nil {
		return nil, mongox.Unavailable(fmt.Errorf("find carts: %w", err))
	}
	var docs []stateDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Unavailable(fmt.Errorf("read carts: %w", err))
	}
	carts := make([]Cart, len(docs))
	for i, d := range docs {
		carts[i] = d.cart()
	}
	return carts, nil
}

// Prune deletes states that a later version of their cart supersedes and that were written
// before `before`, and reports how many. Only superseded states go, so every cart keeps its
// latest one. Callers pass a time older than any request can be, cacheTTL included (a change
// may start from a state cached that long before): a writer that read version v still finds
// v+1 in place if a rival stored it, and so cannot store a stale v+1 itself.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	cur, err := s.states.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: "$cartId"},
			{Key: "states", Value: bson.D{{Key: "$sum", Value: 1}}},
		}}},
		{{Key: "$match", Value: bson.D{{Key: "states", Value: bson.D{{Key: "$gt", Value: 1}}}}}},
		{{Key: "$limit", Value: 1000}},
	})
	if err != nil {
		return 0, mongox.Unavailable(fmt.Errorf("find superseded cart states: %w", err))
	}
	var carts []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &carts); err != nil {
		return 0, mongox.Unavailable(fmt.Errorf("read superseded cart states: %w", err))
	}
	pruned := 0
	for _, c := range carts {
		// ($max is not an accumulator FerretDB implements, so the latest version is read here.)
		latest, err := s.latestOf(ctx, c.ID)
		if err != nil {
			return pruned, err
		}
		res, err := s.states.DeleteMany(ctx, bson.D{
			{Key: "cartId", Value: c.ID},
			{Key: "version", Value: bson.D{{Key: "$lt", Value: latest.Version}}},
			{Key: "updated", Value: bson.D{{Key: "$lt", Value: before}}},
		})
		if err != nil {
			return pruned, mongox.Unavailable(fmt.Errorf("prune cart %s: %w", c.ID, err))
		}
		pruned += int(res.DeletedCount)
	}
	return pruned, nil
}
