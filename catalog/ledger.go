package catalog

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"golang.org/x/sync/errgroup"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// The stock ledger (SPEC §3.3; docs/design.md, "Stock ledger"). Every stock change is a move
// appended under _id "<articleId>/<seq>" with the running balance, so of two writers deciding on
// the same balance only one can store the next seq. A unique key per decision makes each happen
// once. Each move carries the article's sale state, so a reservation decides on the ledger alone.
// A head per article (stock_heads) copies a recent move; it may lag, never lead.

// Reasons of stock moves.
const (
	moveSet     = "set"     // an admin set the stock to an absolute value
	moveReserve = "reserve" // an order took stock
	moveRefuse  = "refuse"  // an order could not take stock (delta 0; records the decision)
	moveRelease = "release" // stock an order had taken came back
	moveRevise  = "revise"  // the article's price or enabled changed (delta 0)
)

// sellState is what a reservation needs of an article besides its stock: whether it is for
// sale, and at what price (cents), as of the article's version.
type sellState struct {
	Enabled bool  `bson:"enabled" json:"enabled"`
	Price   int64 `bson:"price" json:"price"`
	Version int64 `bson:"version" json:"version"`
}

// stateOf returns the sale state of the article doc.
func stateOf(d articleDoc) *sellState {
	return &sellState{Enabled: d.Enabled, Price: d.Price, Version: d.Version}
}

// newer returns whichever of a and b copies the later article version (a when equal); nil
// only when both are.
func newer(a, b *sellState) *sellState {
	if a == nil || (b != nil && b.Version > a.Version) {
		return b
	}
	return a
}

// stockMove is one entry of an article's ledger.
type stockMove struct {
	ID        string        `bson:"_id"` // "<articleId>/<seq>"
	Key       string        `bson:"key"` // the decision it records, unique in the ledger
	ArticleID bson.ObjectID `bson:"articleId"`
	Seq       int64         `bson:"seq"`
	Delta     int64         `bson:"delta"`
	Balance   int64         `bson:"balance"`
	Reason    string        `bson:"reason"`
	Note      string        `bson:"note,omitempty"`
	OrderID   string        `bson:"orderId,omitempty"`
	State     *sellState    `bson:"state"`
	At        time.Time     `bson:"at"`
}

// level returns how far m takes its article's ledger.
func (m stockMove) level() stockLevel {
	return stockLevel{Seq: m.Seq, Balance: m.Balance, State: m.State}
}

// stockHead is the head document of an article's ledger: the seq, balance and state of a
// recent move.
type stockHead struct {
	ArticleID string     `bson:"_id"`
	Seq       int64      `bson:"seq"`
	Balance   int64      `bson:"balance"`
	State     *sellState `bson:"state,omitempty"`
}

// move returns what the head says of the article's latest move.
func (h stockHead) move(articleID bson.ObjectID) stockMove {
	return stockMove{ArticleID: articleID, Seq: h.Seq, Balance: h.Balance, State: h.State}
}

// moveID is the _id of the article's move number seq.
func moveID(articleID bson.ObjectID, seq int64) string {
	return articleID.Hex() + "/" + strconv.FormatInt(seq, 10)
}

// ensureLedgerIndexes declares the ledger's indexes. The unique key is what makes a decision
// happen once; (articleId, seq) duplicates the _id's uniqueness and serves ledger queries on
// MongoDB.
func (s *Store) ensureLedgerIndexes(ctx context.Context) error {
	return mongox.EnsureIndexes(ctx, s.moves,
		mongo.IndexModel{Keys: bson.D{{Key: "key", Value: 1}}, Options: options.Index().SetUnique(true).SetName("key")},
		mongo.IndexModel{
			Keys:    bson.D{{Key: "articleId", Value: 1}, {Key: "seq", Value: 1}},
			Options: options.Index().SetUnique(true).SetName("article_seq"),
		})
}

// latestMove returns the article's move with the highest seq, or a zero move (seq 0, balance
// 0) when the ledger is empty: its head, then the moves after the head.
func (s *Store) latestMove(ctx context.Context, articleID bson.ObjectID) (stockMove, error) {
	last, err := s.headMove(ctx, articleID)
	if err != nil {
		return last, err
	}
	return s.latestFrom(ctx, last)
}

// latestFrom returns last or, if moves were appended after it, the latest of them.
func (s *Store) latestFrom(ctx context.Context, last stockMove) (stockMove, error) {
	articleID := last.ArticleID
	next := func(m stockMove) any { return moveID(articleID, m.Seq+1) }
	latest, moved, err := mongox.LatestAfter(ctx, s.moves, last, next)
	if moved {
		s.learn(articleID, latest.level())
	}
	return latest, err
}

// headMove returns what the article's head says of its latest move (only Seq and Balance are
// set), or a zero move when it has no head yet.
func (s *Store) headMove(ctx context.Context, articleID bson.ObjectID) (stockMove, error) {
	var h stockHead
	err := s.heads.FindOne(ctx, bson.M{"_id": articleID.Hex()}).Decode(&h)
	if isNoDocuments(err) {
		return stockMove{ArticleID: articleID}, nil
	}
	if err != nil {
		return stockMove{}, mongox.Unavailable(fmt.Errorf("read stock head of %s: %w", articleID.Hex(), err))
	}
	m := h.move(articleID)
	s.learn(articleID, m.level())
	return m, nil
}

// Balance returns the article's current stock: the balance of its latest move.
func (s *Store) Balance(ctx context.Context, articleID bson.ObjectID) (int64, error) {
	m, err := s.latestMove(ctx, articleID)
	return m.Balance, err
}

// moveAt returns the article's move number seq, if it was appended.
func (s *Store) moveAt(ctx context.Context, articleID bson.ObjectID, seq int64) (stockMove, bool, error) {
	return s.findMove(ctx, bson.M{"_id": moveID(articleID, seq)})
}

func (s *Store) findMove(ctx context.Context, filter bson.M) (stockMove, bool, error) {
	var m stockMove
	err := s.moves.FindOne(ctx, filter).Decode(&m)
	if isNoDocuments(err) {
		return m, false, nil
	}
	if err != nil {
		return m, false, mongox.Unavailable(fmt.Errorf("read stock move %v: %w", filter, err))
	}
	s.learn(m.ArticleID, m.level())
	return m, true, nil
}

// moveDecision says what a move does given the balance and the article's state it is appended
// to.
type moveDecision func(balance int64, st sellState) (delta int64, reason, note string)

// moveRequest asks for a move recording decision key of an article, decided on its latest
// balance and state.
type moveRequest struct {
	articleID bson.ObjectID
	key       string
	orderID   string
	state     *sellState // a newer state of the article, read from it; nil: the latest move's
	decide    moveDecision
}

// after returns the move that req appends right after last, at now. Its state is the newer of
// req's and last's (a revise written late never brings back an older price); req must have one
// when last has none (an article's first move).
func (req moveRequest) after(last stockMove, now time.Time) (stockMove, error) {
	st := newer(req.state, last.State)
	if st == nil {
		return stockMove{}, fmt.Errorf("stock move %s: no state of article %s", req.key, req.articleID.Hex())
	}
	delta, reason, note := req.decide(last.Balance, *st)
	seq := last.Seq + 1
	m := stockMove{
		ID: moveID(req.articleID, seq), Key: req.key, ArticleID: req.articleID, Seq: seq, Delta: delta,
		Balance: last.Balance + delta, Reason: reason, Note: note, OrderID: req.orderID, State: st, At: now,
	}
	if m.Balance < 0 { // a decision must never do this; refuse rather than store a broken ledger
		return stockMove{}, fmt.Errorf("stock move %s would leave balance %d", req.key, m.Balance)
	}
	return m, nil
}

// start returns the move an append of the article starts from: the latest one this store knows
// of (see knownMoves), else its head.
func (s *Store) start(ctx context.Context, articleID bson.ObjectID) (last stockMove, guessed bool, err error) {
	if m, ok := s.known.latestOf(articleID); ok {
		return m, true, nil
	}
	last, err = s.headMove(ctx, articleID)
	return last, false, err
}

// appendMove appends the move req asks for, or returns the move already holding its key (a
// retry). It tries the seq after the move it knows of (see start): usually one insert. A
// duplicate means the seq is taken (decide again on the move there, or on the head if the
// start was a guess from memory) or the key is (return that move).
func (s *Store) appendMove(ctx context.Context, req moveRequest) (stockMove, error) {
	last, guessed, err := s.start(ctx, req.articleID)
	if err != nil {
		return stockMove{}, err
	}
	return mongox.RetryOnConflict(ctx, func() (stockMove, error) {
		m, err := req.after(last, s.now())
		if err != nil {
			return stockMove{}, err
		}
		taken, err := s.insertMoves(ctx, m)
		if err != nil {
			return stockMove{}, err
		}
		if len(taken) == 0 {
			s.moveHeads(ctx, m)
			return m, nil
		}
		other, found, err := s.moveAt(ctx, req.articleID, m.Seq)
		switch {
		case err != nil:
			return stockMove{}, err
		case found && other.Key == req.key: // this very decision won the seq before
			return other, nil
		case !found: // the seq is free, so the key was the duplicate: the decision was made earlier
			return s.moveByKey(ctx, req.key)
		}
		last = other // the move that took seq is newer: decide again on its balance, or on the head's
		if guessed {
			guessed = false
			head, err := s.headMove(ctx, req.articleID)
			if err != nil {
				return stockMove{}, err
			}
			if head.Seq > last.Seq {
				last = head
			}
		}
		return stockMove{}, fmt.Errorf("stock of article %s: %w", req.articleID.Hex(), mongox.ErrLostRace)
	})
}

// appendAtOnce appends the moves reqs ask for, each decided on the latest move this store knows
// of its article, in one insert. It returns the moves and the indexes of the requests whose
// insert was refused (their seq or their key was taken: a stale start, or a decision made
// before); those moves are not stored, and the caller finishes them with appendMove. At most one
// request per article.
func (s *Store) appendAtOnce(ctx context.Context, reqs []moveRequest) (moves []stockMove, refused []int, err error) {
	moves = make([]stockMove, len(reqs))
	for i := range reqs {
		last, _, err := s.start(ctx, reqs[i].articleID)
		if err != nil {
			return nil, nil, err
		}
		if moves[i], err = reqs[i].after(last, s.now()); err != nil {
			return nil, nil, err
		}
	}
	refused, err = s.insertMoves(ctx, moves...)
	if err != nil {
		return nil, nil, err
	}
	stored := make([]stockMove, 0, len(moves))
	for i, m := range moves {
		if !slices.Contains(refused, i) {
			stored = append(stored, m)
		}
	}
	s.moveHeads(ctx, stored...)
	return moves, refused, nil
}

// insertMoves inserts moves in one round trip and returns the indexes of those a unique index
// refused.
func (s *Store) insertMoves(ctx context.Context, moves ...stockMove) (refused []int, err error) {
	docs := make([]any, 0, len(moves))
	var crash error
	for _, m := range moves {
		if s.beforeMove != nil {
			if crash = s.beforeMove(m.Key); crash != nil {
				break // the moves before it are stored, as a crash at this point would leave them
			}
		}
		docs = append(docs, m)
	}
	refused, err = mongox.InsertAll(ctx, s.moves, docs)
	if err != nil {
		return nil, fmt.Errorf("append stock moves: %w", err)
	}
	return refused, crash
}

// moveByKey returns the move that recorded decision key. It is needed only when a decision is
// tried again after it was stored (a retry after a crash, or two consumers of one redelivered
// order), and it is the one ledger query not by _id: MongoDB and FerretDB on PostgreSQL answer it
// from the key index, FerretDB on SQLite by a scan.
func (s *Store) moveByKey(ctx context.Context, key string) (stockMove, error) {
	m, found, err := s.findMove(ctx, bson.M{"key": key})
	if err == nil && !found {
		err = fmt.Errorf("%w: stock move %s vanished", errs.Unavailable, key)
	}
	return m, err
}

// moveHeads records each of moves (one per article) in its article's head, in one round trip
// per mongox.MaxBatch moves, and tells the store's observer. A head is only a starting point for
// finding the latest move, so a failed write is left for the next writer to make up for (readers
// probe past a lagging head).
func (s *Store) moveHeads(ctx context.Context, moves ...stockMove) {
	if len(moves) == 0 {
		return
	}
	writes := make([]mongo.WriteModel, len(moves))
	for i, m := range moves {
		writes[i] = mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": m.ArticleID.Hex()}).
			SetReplacement(stockHead{ArticleID: m.ArticleID.Hex(), Seq: m.Seq, Balance: m.Balance, State: m.State}).SetUpsert(true)
	}
	_ = s.headWrites.Write(ctx, s.heads, writes)
	for _, m := range moves {
		level := m.level()
		s.notify(change{ArticleID: m.ArticleID, Stock: &level})
	}
}

// knownMoves is the latest move of each article that this store has seen: appended, read, or
// heard of from another instance (Store.learn). Appends start from it, as a guess that costs no
// read, never as a decision: a move goes to seq+1 of the move it was decided on, and that _id is
// free only if no move followed, so a move decided on a stale guess is refused by the store and
// decided again on the ledger (appendMove). It holds one entry per article.
type knownMoves struct {
	mu     sync.Mutex
	latest map[bson.ObjectID]stockLevel
}

func (k *knownMoves) learn(articleID bson.ObjectID, l stockLevel) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.latest == nil {
		k.latest = map[bson.ObjectID]stockLevel{}
	}
	if old, ok := k.latest[articleID]; !ok || l.Seq > old.Seq {
		k.latest[articleID] = l
	}
}

func (k *knownMoves) latestOf(articleID bson.ObjectID) (stockMove, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.latest[articleID]
	return stockMove{ArticleID: articleID, Seq: l.Seq, Balance: l.Balance, State: l.State}, ok
}

// takeTurns waits for the turn of the articles of reqs (see turns.Turns): the moves of one
// article are appended by one operation of this instance at a time, each starting from the move
// the one before it appended. Without turns, eight orders of the same hundred articles race for
// every seq, and most of their moves are refused and appended again one by one.
func (s *Store) takeTurns(ctx context.Context, reqs []moveRequest) (give func(), err error) {
	keys := make([]string, len(reqs))
	for i, req := range reqs {
		keys[i] = req.articleID.Hex()
	}
	return s.turns.Take(ctx, keys...)
}

// appendAlone appends the move req asks for, in the article's turn.
func (s *Store) appendAlone(ctx context.Context, req moveRequest) (stockMove, error) {
	give, err := s.takeTurns(ctx, []moveRequest{req})
	if err != nil {
		return stockMove{}, err
	}
	defer give()
	return s.appendMove(ctx, req)
}

// SetStock sets the article's stock to stock, with a move of the difference, and returns the new
// balance. state, when not nil, is the article's state just written (see sellState).
func (s *Store) SetStock(ctx context.Context, articleID bson.ObjectID, stock int64, state *sellState) (int64, error) {
	m, err := s.appendAlone(ctx, moveRequest{articleID: articleID, key: "set/" + bson.NewObjectID().Hex(), state: state,
		decide: func(balance int64, _ sellState) (int64, string, string) { return stock - balance, moveSet, "" }})
	return m.Balance, err
}

// revise appends a move recording the article's new state (see sellState) and returns the
// balance.
func (s *Store) revise(ctx context.Context, doc articleDoc) (int64, error) {
	m, err := s.appendAlone(ctx, moveRequest{articleID: doc.ID, key: "revise/" + bson.NewObjectID().Hex(), state: stateOf(doc),
		decide: func(int64, sellState) (int64, string, string) { return 0, moveRevise, "" }})
	return m.Balance, err
}

// reconcile appends a revise move for each article whose state in the ledger, as far as this
// store knows, is older than the article (a writer stopped between the article and its revise
// move). Run when a read model loads, so the ledger catches up within a reload interval; a
// revise of a state the ledger had already is harmless (it repeats it).
func (s *Store) reconcile(ctx context.Context, docs []articleDoc) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(mongox.MaxParallel)
	for _, doc := range docs {
		last, known := s.known.latestOf(doc.ID)
		if known && last.State != nil && last.State.Version >= doc.Version {
			continue
		}
		g.Go(func() error {
			_, err := s.revise(gctx, doc)
			return err
		})
	}
	return g.Wait()
}
