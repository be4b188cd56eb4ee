package catalog

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// The stock ledger (SPEC §3.3). Every change of an article's stock is a move appended to
// stock_moves with the next sequence number of that article and the running balance. The
// unique index on (articleId, seq) lets only one writer append each seq, so a move computed
// from a stale balance cannot be stored: its writer gets a duplicate key, reads the latest move
// again and retries. That needs no transaction and no atomic conditional update, so it holds on
// FerretDB as on MongoDB. Moves are never changed or deleted.

// Reasons of stock moves.
const (
	moveSet     = "set"     // an admin set the stock to an absolute value
	moveReserve = "reserve" // an order took stock
	moveRefuse  = "refuse"  // an order could not take stock (delta 0; records the decision)
	moveRelease = "release" // stock an order had taken came back
)

// stockMove is one entry of an article's ledger. ID identifies the move itself: moves made for
// an order have a deterministic ID (see reserve.go), so the same move is never appended twice.
type stockMove struct {
	ID        string        `bson:"_id"`
	ArticleID bson.ObjectID `bson:"articleId"`
	Seq       int64         `bson:"seq"`
	Delta     int64         `bson:"delta"`
	Balance   int64         `bson:"balance"`
	Reason    string        `bson:"reason"`
	Note      string        `bson:"note,omitempty"`
	OrderID   string        `bson:"orderId,omitempty"`
	At        time.Time     `bson:"at"`
}

// latestMove returns the article's move with the highest seq, or a zero move (seq 0, balance
// 0) when the ledger is empty.
func (s *Store) latestMove(ctx context.Context, articleID bson.ObjectID) (stockMove, error) {
	var m stockMove
	opts := options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}})
	err := s.moves.FindOne(ctx, bson.M{"articleId": articleID}, opts).Decode(&m)
	if isNoDocuments(err) {
		return stockMove{ArticleID: articleID}, nil
	}
	if err != nil {
		return m, mongox.Unavailable(fmt.Errorf("read stock of %s: %w", articleID.Hex(), err))
	}
	return m, nil
}

// Balance returns the article's current stock: the balance of its latest move.
func (s *Store) Balance(ctx context.Context, articleID bson.ObjectID) (int64, error) {
	m, err := s.latestMove(ctx, articleID)
	return m.Balance, err
}

// findMove returns the move with id, if it was appended.
func (s *Store) findMove(ctx context.Context, id string) (stockMove, bool, error) {
	var m stockMove
	err := s.moves.FindOne(ctx, bson.M{"_id": id}).Decode(&m)
	if isNoDocuments(err) {
		return m, false, nil
	}
	if err != nil {
		return m, false, mongox.Unavailable(fmt.Errorf("read stock move %s: %w", id, err))
	}
	return m, true, nil
}

// moveDecision says what a move does given the balance it is appended to.
type moveDecision func(balance int64) (delta int64, reason, note string)

// appendMove appends the move with id to the article's ledger, its delta decided on the latest
// balance. If a move with id is already there (a retry of work done before), it is returned
// instead and nothing is appended.
func (s *Store) appendMove(ctx context.Context, articleID bson.ObjectID, id, orderID string, decide moveDecision) (stockMove, error) {
	return mongox.RetryOnConflict(ctx, func() (stockMove, error) {
		last, err := s.latestMove(ctx, articleID)
		if err != nil {
			return stockMove{}, err
		}
		delta, reason, note := decide(last.Balance)
		m := stockMove{
			ID: id, ArticleID: articleID, Seq: last.Seq + 1, Delta: delta, Balance: last.Balance + delta,
			Reason: reason, Note: note, OrderID: orderID, At: time.Now().UTC(),
		}
		if m.Balance < 0 { // a decision must never do this; refuse rather than store a broken ledger
			return stockMove{}, fmt.Errorf("stock move %s would leave balance %d", id, m.Balance)
		}
		if s.beforeMove != nil {
			if err := s.beforeMove(id); err != nil {
				return stockMove{}, err
			}
		}
		_, err = s.moves.InsertOne(ctx, m)
		if err == nil {
			return m, nil
		}
		if !mongox.IsDuplicate(err) {
			return stockMove{}, mongox.Unavailable(fmt.Errorf("append stock move %s: %w", id, err))
		}
		// Either this very move is already there, or someone else took seq first.
		done, found, err := s.findMove(ctx, id)
		if err != nil {
			return stockMove{}, err
		}
		if found {
			return done, nil
		}
		return stockMove{}, fmt.Errorf("stock of article %s: %w", articleID.Hex(), mongox.ErrLostRace)
	})
}

// SetStock sets the article's stock to stock, with a move of the difference, and returns the new
// balance.
func (s *Store) SetStock(ctx context.Context, articleID bson.ObjectID, stock int64) (int64, error) {
	m, err := s.appendMove(ctx, articleID, bson.NewObjectID().Hex(), "", func(balance int64) (int64, string, string) {
		return stock - balance, moveSet, ""
	})
	return m.Balance, err
}
