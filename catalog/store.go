package catalog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// Store keeps articles, their stock ledger and the reservations of orders in MongoDB.
type Store struct {
	articles     *mongo.Collection
	moves        *mongo.Collection
	reservations *mongo.Collection

	// beforeMove, when set (tests only), runs before each stock move is written; an error
	// stops there, as a crash at that point would.
	beforeMove func(moveID string) error
}

// NewStore uses db (the `catalog` database) and makes sure its indexes exist.
func NewStore(ctx context.Context, db *mongo.Database) (*Store, error) {
	s := &Store{
		articles:     db.Collection("articles"),
		moves:        db.Collection("stock_moves"),
		reservations: db.Collection("reservations"),
	}
	// One move per (article, seq): this index is what keeps stock from going below zero.
	// Reservations need no index of their own: their _id, the order id, is unique already.
	err := mongox.EnsureIndexes(ctx, s.moves, mongo.IndexModel{
		Keys:    bson.D{{Key: "articleId", Value: 1}, {Key: "seq", Value: 1}},
		Options: options.Index().SetUnique(true).SetName("article_seq"),
	})
	if err != nil {
		return nil, err
	}
	err = mongox.EnsureIndexes(ctx, s.articles, mongo.IndexModel{
		Keys:    bson.D{{Key: "enabled", Value: 1}, {Key: "name", Value: 1}, {Key: "_id", Value: 1}},
		Options: options.Index().SetName("enabled_name"),
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// articleDoc is an article as stored. Its stock lives in the ledger, not here.
type articleDoc struct {
	ID          bson.ObjectID `bson:"_id"`
	Name        string        `bson:"name"`
	Description string        `bson:"description"`
	Image       string        `bson:"image"`
	Price       int64         `bson:"price"` // cents
	Enabled     bool          `bson:"enabled"`
	Created     time.Time     `bson:"created"`
	Updated     time.Time     `bson:"updated"`
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
		return oid, errs.Newf(errs.Invalid, "malformed article id %q", id)
	}
	return oid, nil
}

// CreateArticle stores a new enabled article with the validated fields of ch and its initial
// stock as the first move of its ledger.
func (s *Store) CreateArticle(ctx context.Context, ch articleChanges) (Article, error) {
	now := time.Now().UTC()
	doc := articleDoc{ID: bson.NewObjectID(), Enabled: true, Created: now, Updated: now}
	ch.applyTo(&doc)
	if _, err := s.articles.InsertOne(ctx, doc); err != nil {
		return Article{}, mongox.Unavailable(fmt.Errorf("insert article: %w", err))
	}
	var stock int64
	if ch.Stock != nil {
		stock = *ch.Stock
	}
	balance, err := s.SetStock(ctx, doc.ID, stock)
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
	var doc articleDoc
	if err := s.articles.FindOne(ctx, bson.M{"_id": oid}).Decode(&doc); err != nil {
		return doc, mongox.NotFound(err, "article "+id)
	}
	return doc, nil
}

// UpdateArticle changes the fields of ch that are set; a stock is set with an adjusting move.
// Only the fields sent are written, in one update, so two admins changing different fields at
// once both keep their change (on MongoDB, where a single-document update is atomic).
func (s *Store) UpdateArticle(ctx context.Context, id string, ch articleChanges) (Article, error) {
	oid, err := parseArticleID(id)
	if err != nil {
		return Article{}, err
	}
	set := bson.M{"updated": time.Now().UTC()}
	if ch.Name != nil {
		set["name"] = *ch.Name
	}
	if ch.Description != nil {
		set["description"] = *ch.Description
	}
	if ch.Image != nil {
		set["image"] = *ch.Image
	}
	if ch.Price != nil {
		set["price"] = int64(*ch.Price)
	}
	var doc articleDoc
	err = s.articles.FindOneAndUpdate(ctx, bson.M{"_id": oid}, bson.M{"$set": set},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	if err != nil {
		return Article{}, mongox.NotFound(err, "article "+id)
	}
	var stock int64
	if ch.Stock != nil {
		stock, err = s.SetStock(ctx, doc.ID, *ch.Stock)
	} else {
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
	res, err := s.articles.UpdateOne(ctx, bson.M{"_id": oid},
		bson.M{"$set": bson.M{"enabled": false, "updated": time.Now().UTC()}})
	if err != nil {
		return mongox.Unavailable(fmt.Errorf("disable article: %w", err))
	}
	if res.MatchedCount == 0 {
		return errs.Newf(errs.NotFound, "article %s not found", id)
	}
	return nil
}

// textFilter matches enabled articles whose name or description contains every word, ignoring
// case. Words are quoted, so they are matched as plain text, never as patterns.
func textFilter(words []string) bson.M {
	and := bson.A{bson.M{"enabled": true}}
	for _, w := range words {
		re := bson.Regex{Pattern: regexp.QuoteMeta(w), Options: "i"}
		and = append(and, bson.M{"$or": bson.A{bson.M{"name": re}, bson.M{"description": re}}})
	}
	return bson.M{"$and": and}
}

// byName is the listing order: by name, ties by id, so pages are stable.
var byName = bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 1}}

// SearchArticles returns up to limit enabled articles matching every word.
func (s *Store) SearchArticles(ctx context.Context, words []string, limit int) ([]Article, error) {
	opts := options.Find().SetSort(byName).SetLimit(int64(limit))
	return s.findArticles(ctx, textFilter(words), opts)
}

// ListArticles returns page (from 1) of size enabled articles matching every word of words
// (all when none), and how many match in all.
func (s *Store) ListArticles(ctx context.Context, words []string, page, size int) ([]Article, int64, error) {
	filter := textFilter(words)
	total, err := s.articles.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, mongox.Unavailable(fmt.Errorf("count articles: %w", err))
	}
	opts := options.Find().SetSort(byName).SetSkip(int64((page - 1) * size)).SetLimit(int64(size))
	items, err := s.findArticles(ctx, filter, opts)
	return items, total, err
}

// balanceLookups bounds the concurrent ledger reads of one listing.
const balanceLookups = 8

func (s *Store) findArticles(ctx context.Context, filter bson.M, opts *options.FindOptionsBuilder) ([]Article, error) {
	cur, err := s.articles.Find(ctx, filter, opts)
	if err != nil {
		return nil, mongox.Unavailable(fmt.Errorf("find articles: %w", err))
	}
	var docs []articleDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Unavailable(fmt.Errorf("read articles: %w", err))
	}
	// Each stock is the balance of the article's latest move (MongoDB-wire servers such as
	// FerretDB lack the $group accumulators to fetch them all in one query).
	items := make([]Article, len(docs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(balanceLookups)
	for i, doc := range docs {
		g.Go(func() error {
			stock, err := s.Balance(gctx, doc.ID)
			items[i] = doc.article(stock)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return items, nil
}

// isNoDocuments tells whether err says a lookup found nothing.
func isNoDocuments(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }

// isUnknownArticle tells whether an article lookup failed because there is no such article
// (a malformed or unknown id) rather than because the store failed.
func isUnknownArticle(err error) bool {
	return errors.Is(err, errs.Invalid) || errors.Is(err, errs.NotFound)
}
