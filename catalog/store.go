package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/turns"
)

// Store keeps articles, their stock ledger and the reservations of orders in MongoDB. Every
// read it makes is by exact _id, so its cost does not grow with the history of the shop.
type Store struct {
	articles     *mongo.Collection
	versions     *mongo.Collection // every article version but the first, by "<articleId>/<version>"
	moves        *mongo.Collection
	heads        *mongo.Collection
	reservations *mongo.Collection
	headWrites   *mongox.BulkWriter // the heads of an order's moves, a few at a time

	now     func() time.Time
	observe func(change)

	known knownMoves  // where appends start (see knownMoves)
	turns turns.Turns // an article's moves are appended by one operation at a time (see takeTurns)

	// beforeMove, when set (tests only), runs before each stock move is written; an error
	// stops there, as a crash at that point would.
	beforeMove func(moveKey string) error
}

// StoreDeps is what a Store needs besides its database.
type StoreDeps struct {
	Now     func() time.Time // stamps articles, moves and reservations
	Observe func(change)     // told of every change after it is stored; may be nil
}

// NewStore uses db (the `catalog` database) and makes sure its indexes exist. Reservations,
// heads and versions need no index of their own: their _id is their key. It reads no data.
func NewStore(ctx context.Context, db *mongo.Database, deps StoreDeps) (*Store, error) {
	s := &Store{
		articles:     db.Collection("articles"),
		versions:     db.Collection("article_versions"),
		moves:        db.Collection("stock_ledger"),
		heads:        db.Collection("stock_heads"),
		reservations: db.Collection("reservations"),
		headWrites:   mongox.NewBulkWriter(),
		now:          func() time.Time { return deps.Now().UTC() },
		observe:      deps.Observe,
	}
	if s.observe == nil {
		s.observe = func(change) {}
	}
	if err := s.ensureLedgerIndexes(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// change is one change the store made to an article: its fields (Article set) or its stock
// (Stock set).
type change struct {
	ArticleID bson.ObjectID
	Article   *articleDoc
	Stock     *stockLevel
}

// stockLevel is an article's stock, and its sale state, as of one move of its ledger.
type stockLevel struct {
	Seq     int64      `json:"seq"`
	Balance int64      `json:"balance"`
	State   *sellState `json:"state,omitempty"`
}

func (s *Store) notify(c change) {
	if c.Stock != nil {
		s.learn(c.ArticleID, *c.Stock)
	}
	s.observe(c)
}

// articleDoc is an article as stored. Its stock lives in the ledger, not here.
// Version counts its writes, so an old copy of it never overwrites a newer one in a read model.
type articleDoc struct {
	ID          bson.ObjectID `bson:"_id" json:"id"`
	Name        string        `bson:"name" json:"name"`
	Description string        `bson:"description" json:"description"`
	Image       string        `bson:"image" json:"image"`
	Price       int64         `bson:"price" json:"price"` // cents
	Enabled     bool          `bson:"enabled" json:"enabled"`
	Version     int64         `bson:"version" json:"version"`
	Created     time.Time     `bson:"created" json:"created"`
	Updated     time.Time     `bson:"updated" json:"updated"`
}

// article is d as clients see it, with stock read from the ledger.
func (d articleDoc) article(stock int64) Article {
	return Article{
		ID: d.ID.Hex(), Name: d.Name, Description: d.Description, Image: d.Image,
		Price: money.Cents(d.Price), Stock: stock, Enabled: d.Enabled,
	}
}

// parseArticleID reads an article id; a malformed one is errs.Invalid.
func parseArticleID(id string) (bson.ObjectID, error) {
	oid, err := bson.ObjectIDFromHex(id)
	if err != nil {
		return oid, errs.Newf(errs.Invalid, "malformed article id %q", id).WithCode(errs.CodeMalformedID)
	}
	return oid, nil
}

// CreateArticle stores a new enabled article with the validated fields of ch and its initial
// stock as the first move of its ledger.
func (s *Store) CreateArticle(ctx context.Context, ch articleChanges) (Article, error) {
	now := s.now()
	doc := articleDoc{ID: bson.NewObjectID(), Enabled: true, Version: 1, Created: now, Updated: now}
	ch.applyTo(&doc)
	if _, err := s.articles.InsertOne(ctx, doc); err != nil {
		return Article{}, mongox.Unavailable(fmt.Errorf("insert article: %w", err))
	}
	s.notify(change{ArticleID: doc.ID, Article: &doc})
	var stock int64
	if ch.Stock != nil {
		stock = *ch.Stock
	}
	balance, err := s.SetStock(ctx, doc.ID, stock, stateOf(doc))
	if err != nil {
		return Article{}, err
	}
	return doc.article(balance), nil
}

// applyTo copies the fields that ch sets into doc. A stock is not among them: it is a ledger move.
func (ch articleChanges) applyTo(doc *articleDoc) {
	if ch.Name != nil {
		doc.Name = *ch.Name
	}
	if ch.Description != nil {
		doc.Description = *ch.Description
	}
	if ch.Image != nil {
		doc.Image = *ch.Image
	}
	if ch.Price != nil {
		doc.Price = int64(*ch.Price)
	}
	if ch.Enabled != nil {
		doc.Enabled = *ch.Enabled
	}
}

// Article returns the article with id, enabled or not.
func (s *Store) Article(ctx context.Context, id string) (Article, error) {
	doc, err := s.findArticleDoc(ctx, id)
	if err != nil {
		return Article{}, err
	}
	stock, err := s.Balance(ctx, doc.ID)
	if err != nil {
		return Article{}, err
	}
	return doc.article(stock), nil
}

// findArticleDoc returns the stored article with id, without its stock: errs.Invalid for a
// malformed id, errs.NotFound for an unknown one.
func (s *Store) findArticleDoc(ctx context.Context, id string) (articleDoc, error) {
	oid, err := parseArticleID(id)
	if err != nil {
		return articleDoc{}, err
	}
	return s.articleDoc(ctx, oid)
}

// articleDoc returns the stored article with id: errs.NotFound for an unknown one.
func (s *Store) articleDoc(ctx context.Context, id bson.ObjectID) (articleDoc, error) {
	var doc articleDoc
	if err := s.articles.FindOne(ctx, bson.M{"_id": id}).Decode(&doc); err != nil {
		return doc, mongox.NotFound(err, "article "+id.Hex())
	}
	return doc, nil
}

// UpdateArticle changes the fields of ch that are set, as the article's next version (see
// writeArticle); a stock is set with an adjusting move.
func (s *Store) UpdateArticle(ctx context.Context, id string, ch articleChanges) (Article, error) {
	oid, err := parseArticleID(id)
	if err != nil {
		return Article{}, err
	}
	doc, err := s.writeArticle(ctx, oid, ch.applyTo)
	if err != nil {
		return Article{}, err
	}
	// The ledger records the new sale state with the stock move, or with a revise move of its
	// own when the price or the enabled state may have changed (see sellState).
	var stock int64
	switch {
	case ch.Stock != nil:
		stock, err = s.SetStock(ctx, doc.ID, *ch.Stock, stateOf(doc))
	case ch.Price != nil, ch.Enabled != nil:
		stock, err = s.revise(ctx, doc)
	default:
		stock, err = s.Balance(ctx, doc.ID)
	}
	if err != nil {
		return Article{}, err
	}
	return doc.article(stock), nil
}

// DisableArticle soft-deletes the article: it stays readable by id, but is no longer listed,
// searched or reservable. Disabling twice is fine.
func (s *Store) DisableArticle(ctx context.Context, id string) error {
	oid, err := parseArticleID(id)
	if err != nil {
		return err
	}
	doc, err := s.writeArticle(ctx, oid, func(d *articleDoc) { d.Enabled = false })
	if err != nil {
		return err
	}
	_, err = s.revise(ctx, doc) // reservations read the ledger: see sellState
	return err
}

// allArticles returns every article and every stock head, to fill a read model. Its cost grows
// with the number of articles (not with their history); it runs at start-up and now and then.
func (s *Store) allArticles(ctx context.Context) ([]articleDoc, []stockHead, error) {
	var docs []articleDoc
	var heads []stockHead
	for _, q := range []struct {
		coll *mongo.Collection
		into any
	}{{s.articles, &docs}, {s.heads, &heads}} {
		cur, err := q.coll.Find(ctx, bson.M{})
		if err != nil {
			return nil, nil, mongox.Unavailable(fmt.Errorf("read %s: %w", q.coll.Name(), err))
		}
		if err := cur.All(ctx, q.into); err != nil {
			return nil, nil, mongox.Unavailable(fmt.Errorf("read %s: %w", q.coll.Name(), err))
		}
	}
	for _, h := range heads {
		if id, err := bson.ObjectIDFromHex(h.ArticleID); err == nil {
			s.learn(id, h.move(id).level())
		}
	}
	return docs, heads, nil
}

// learn records that the article's ledger has reached l: a move this store saw, or one another
// instance broadcast.
func (s *Store) learn(articleID bson.ObjectID, l stockLevel) { s.known.learn(articleID, l) }

// isNoDocuments tells whether err says a lookup found nothing.
func isNoDocuments(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }

// isUnknownArticle tells whether an article lookup failed because there is no such article
// (a malformed or unknown id) rather than because the store failed.
func isUnknownArticle(err error) bool {
	return errors.Is(err, errs.Invalid) || errors.Is(err, errs.NotFound)
}
