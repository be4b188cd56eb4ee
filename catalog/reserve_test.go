package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// newArticle stores an enabled article with stock and returns its id.
func newArticle(t testing.TB, store *Store, name string, stock int64) string {
	t.Helper()
	a, err := store.CreateArticle(context.Background(), articleChanges{Name: &name, Price: new(money.Cents(100)), Stock: &stock})
	require.NoError(t, err)
	return a.ID
}

// ledger returns the article's moves in sequence order.
func ledger(t testing.TB, store *Store, articleID string) []stockMove {
	t.Helper()
	oid, err := parseArticleID(articleID)
	require.NoError(t, err)
	cur, err := store.moves.Find(context.Background(), bson.M{"articleId": oid},
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	require.NoError(t, err)
	var moves []stockMove
	require.NoError(t, cur.All(context.Background(), &moves))
	return moves
}

// requireConsistentLedger checks the ledger's chain: seqs 1..n without gaps, each balance the
// previous one plus the delta, none below zero; and returns the final balance.
func requireConsistentLedger(t testing.TB, store *Store, articleID string) int64 {
	t.Helper()
	var balance int64
	for i, m := range ledger(t, store, articleID) {
		require.Equal(t, int64(i+1), m.Seq, "seq of move %s", m.ID)
		require.Equal(t, balance+m.Delta, m.Balance, "balance of move %s", m.ID)
		require.GreaterOrEqual(t, m.Balance, int64(0), "move %s", m.ID)
		balance = m.Balance
	}
	return balance
}

func balanceOf(t testing.TB, store *Store, articleID string) int64 {
	t.Helper()
	a, err := store.Article(context.Background(), articleID)
	require.NoError(t, err)
	return a.Stock
}

func TestConcurrentOrdersNeverOversell(t *testing.T) {
	store := newTestStore(t)
	article := newArticle(t, store, "Last units", 10)

	const orders = 50
	states := make([]string, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			r, err := store.ReserveOrder(context.Background(), fmt.Sprintf("order-%02d", i),
				[]OrderLine{{ArticleID: article, Quantity: 1}})
			assert.NoError(t, err)
			states[i] = r.State
		})
	}
	wg.Wait()

	reserved := 0
	for _, s := range states {
		if s == stateReserved {
			reserved++
		} else {
			assert.Equal(t, stateRejected, s)
		}
	}
	assert.Equal(t, 10, reserved, "exactly the 10 units are reserved")
	assert.Equal(t, int64(0), requireConsistentLedger(t, store, article))
	assert.Equal(t, int64(0), balanceOf(t, store, article))
}

// Two instances each start their appends from the moves they know of, which the other one's
// moves make stale at once: multi-line orders racing on both stay all-or-nothing and exact.
func TestTwoInstancesStartingFromStaleMovesNeverOversell(t *testing.T) {
	ctx := context.Background()
	db := testkit.Mongo(t)
	var stores [2]*Store
	for i := range stores {
		var err error
		stores[i], err = NewStore(ctx, db, testDeps(nil))
		require.NoError(t, err)
	}
	a := newArticle(t, stores[0], "A", 12)
	b := newArticle(t, stores[1], "B", 8)
	for _, s := range stores { // both know the first moves, as after loading their read models
		_, _, err := s.allArticles(ctx)
		require.NoError(t, err)
	}

	const orders = 30
	reserved := make([]bool, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			r, err := stores[i%2].ReserveOrder(ctx, fmt.Sprintf("order-%02d", i), []OrderLine{{a, 1}, {b, 1}})
			assert.NoError(t, err)
			reserved[i] = r.State == stateReserved
		})
	}
	wg.Wait()

	n := 0
	for _, ok := range reserved {
		if ok {
			n++
		}
	}
	assert.Equal(t, 8, n, "as many orders as B has units")
	assert.Equal(t, int64(4), requireConsistentLedger(t, stores[0], a), "A keeps what the orders did not take")
	assert.Equal(t, int64(0), requireConsistentLedger(t, stores[1], b))
}

// Reservations decide on the article's state the ledger carries, not on a read of the article:
// an admin's disable or price change on one instance is a move, so another instance that starts
// from what it knew is refused by the seq's _id and decides on the change.
func TestReservationsSeeArticleChangesOfOtherInstances(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	var admin, orders *Store
	for _, s := range []**Store{&admin, &orders} {
		var err error
		*s, err = NewStore(ctx, db, testDeps(nil))
		require.NoError(t, err)
	}
	a := newArticle(t, admin, "A", 10)
	b := newArticle(t, admin, "B", 10)
	_, _, err := orders.allArticles(ctx) // what the orders instance knew when it loaded
	require.NoError(t, err)

	newPrice := money.Cents(250)
	_, err = admin.UpdateArticle(ctx, a, articleChanges{Price: &newPrice})
	require.NoError(t, err)
	require.NoError(t, admin.DisableArticle(ctx, b))

	r, err := orders.ReserveOrder(ctx, "order-1", []OrderLine{{a, 1}})
	require.NoError(t, err)
	assert.Equal(t, stateReserved, r.State)
	assert.Equal(t, []ReservedLine{{a, 1, true, "", 250, 9}}, r.Lines, "the new price")
	r, err = orders.ReserveOrder(ctx, "order-2", []OrderLine{{a, 1}, {b, 1}})
	require.NoError(t, err)
	assert.Equal(t, stateRejected, r.State)
	assert.Equal(t, ReservedLine{b, 1, false, refusedDisabled, 100, 10}, sortedLines(r.Lines, b)[0])
	assert.Equal(t, int64(9), requireConsistentLedger(t, admin, a), "order-2's unit of A given back")

	// Now that it knows, a reservation reads no article.
	cost := trips.During(func() {
		r, err = orders.ReserveOrder(ctx, "order-3", []OrderLine{{a, 2}})
		require.NoError(t, err)
	})
	assert.Equal(t, stateReserved, r.State)
	assert.LessOrEqual(t, cost, int64(3), "the move, its head, the record")
}

// A restored article is reservable again, on another instance too: its restore is a revise
// move, like its deletion.
func TestRestoredArticleIsReservable(t *testing.T) {
	ctx := context.Background()
	db := testkit.Mongo(t)
	var admin, orders *Store
	for _, s := range []**Store{&admin, &orders} {
		var err error
		*s, err = NewStore(ctx, db, testDeps(nil))
		require.NoError(t, err)
	}
	a := newArticle(t, admin, "A", 10)
	require.NoError(t, admin.DisableArticle(ctx, a))
	r, err := orders.ReserveOrder(ctx, "order-1", []OrderLine{{a, 1}})
	require.NoError(t, err)
	assert.Equal(t, stateRejected, r.State, "deleted")

	enabled := true
	restored, err := admin.UpdateArticle(ctx, a, articleChanges{Enabled: &enabled})
	require.NoError(t, err)
	assert.True(t, restored.Enabled)
	r, err = orders.ReserveOrder(ctx, "order-2", []OrderLine{{a, 1}})
	require.NoError(t, err)
	assert.Equal(t, stateReserved, r.State, "restored")
	assert.Equal(t, int64(9), requireConsistentLedger(t, admin, a))
	last := ledger(t, admin, a)
	require.GreaterOrEqual(t, len(last), 2)
	assert.Equal(t, moveRevise, last[len(last)-2].Reason, "the restore is a revise move")
}

// An article written without its revise move (a writer stopped in between), and a ledger
// written before moves carried states, are brought up to the article when a read model loads;
// until then a reservation reads the article.
func TestLedgerIsReconciledWithArticles(t *testing.T) {
	ctx := context.Background()
	store := newTestStore(t)
	a := newArticle(t, store, "A", 10)
	b := newArticle(t, store, "B", 10)
	aid, _ := parseArticleID(a)
	bid, _ := parseArticleID(b)
	// A's price written, its revise move not; B's ledger from before states.
	_, err := store.articles.UpdateOne(ctx, bson.M{"_id": aid}, bson.M{"$set": bson.M{"price": 300}, "$inc": bson.M{"version": 1}})
	require.NoError(t, err)
	_, err = store.moves.UpdateMany(ctx, bson.M{"articleId": bid}, bson.M{"$unset": bson.M{"state": ""}})
	require.NoError(t, err)
	_, err = store.heads.UpdateOne(ctx, bson.M{"_id": b}, bson.M{"$unset": bson.M{"state": ""}})
	require.NoError(t, err)

	restarted, err := NewStore(ctx, store.articles.Database(), testDeps(nil))
	require.NoError(t, err)
	r, err := restarted.ReserveOrder(ctx, "order-1", []OrderLine{{b, 1}})
	require.NoError(t, err)
	assert.Equal(t, []ReservedLine{{b, 1, true, "", 100, 9}}, r.Lines, "the article read for its state")

	require.NoError(t, loadView(ctx, restarted, newArticleView(), true))
	r, err = restarted.ReserveOrder(ctx, "order-2", []OrderLine{{a, 1}, {b, 1}})
	require.NoError(t, err)
	assert.Equal(t, []ReservedLine{{a, 1, true, "", 300, 9}, {b, 1, true, "", 100, 8}}, sortedLines(r.Lines, a, b))
	for _, id := range []string{a, b} {
		moves := ledger(t, restarted, id)
		last := moves[len(moves)-1]
		require.NotNil(t, last.State)
		assert.Equal(t, last.State.Version, map[string]int64{a: 2, b: 1}[id], "%s's moves carry its state", id)
	}
	n := len(ledger(t, restarted, a))
	require.NoError(t, loadView(ctx, restarted, newArticleView(), true))
	assert.Len(t, ledger(t, restarted, a), n, "a reload with nothing to reconcile appends nothing")
}

func TestAdminStockChangesRaceWithOrders(t *testing.T) {
	store := newTestStore(t)
	article := newArticle(t, store, "Busy", 5)
	oid, _ := parseArticleID(article)

	const orders = 10
	states := make([]string, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			r, err := store.ReserveOrder(context.Background(), fmt.Sprintf("o%d", i), []OrderLine{{ArticleID: article, Quantity: 2}})
			assert.NoError(t, err)
			states[i] = r.State
		})
	}
	wg.Go(func() {
		_, err := store.SetStock(context.Background(), oid, 7, nil)
		assert.NoError(t, err)
	})
	wg.Wait()

	// The chain holds, the admin's move set exactly 7 whatever it raced with, and each order
	// reported reserved has exactly one reserve move.
	balance := requireConsistentLedger(t, store, article)
	var sets []int64
	reserveMoves := 0
	for _, m := range ledger(t, store, article) {
		switch m.Reason {
		case moveSet:
			sets = append(sets, m.Balance)
		case moveReserve:
			reserveMoves++
		}
	}
	assert.Equal(t, []int64{5, 7}, sets)
	reserved := 0
	for _, s := range states {
		if s == stateReserved {
			reserved++
		}
	}
	assert.Equal(t, reserveMoves, reserved)
	assert.Equal(t, balance, balanceOf(t, store, article))
}

func TestReserveOrderIsAllOrNothing(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	plenty := newArticle(t, store, "Plenty", 5)
	scarce := newArticle(t, store, "Scarce", 1)
	disabled := newArticle(t, store, "Disabled", 5)
	require.NoError(t, store.DisableArticle(ctx, disabled))

	tests := []struct {
		name    string
		lines   []OrderLine
		refused map[string]string // article → refusal
	}{
		{"insufficient stock", []OrderLine{{plenty, 2}, {scarce, 2}},
			map[string]string{scarce: refusedInsufficient}},
		{"unknown article", []OrderLine{{plenty, 1}, {"0123456789abcdef01234567", 1}},
			map[string]string{"0123456789abcdef01234567": refusedUnknown}},
		{"malformed article id", []OrderLine{{plenty, 1}, {"not-an-id", 1}},
			map[string]string{"not-an-id": refusedUnknown}},
		{"disabled article", []OrderLine{{disabled, 1}, {plenty, 1}},
			map[string]string{disabled: refusedDisabled}},
		{"zero quantity", []OrderLine{{plenty, 1}, {scarce, 0}},
			map[string]string{scarce: refusedQuantity}},
		{"lines of one article add up", []OrderLine{{scarce, 1}, {plenty, 1}, {scarce, 1}},
			map[string]string{scarce: refusedInsufficient}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := store.ReserveOrder(ctx, "order "+tt.name, tt.lines)
			require.NoError(t, err)
			assert.Equal(t, stateRejected, r.State)
			for _, line := range r.Lines {
				assert.Equal(t, tt.refused[line.ArticleID], line.Refusal, line.ArticleID)
				assert.Equal(t, tt.refused[line.ArticleID] == "", line.Reserved, line.ArticleID)
			}
			// Nothing is held: what was reserved was released.
			assert.Equal(t, int64(5), balanceOf(t, store, plenty))
			assert.Equal(t, int64(1), balanceOf(t, store, scarce))
		})
	}

	r, err := store.ReserveOrder(ctx, "good order", []OrderLine{{scarce, 1}, {plenty, 5}})
	require.NoError(t, err)
	assert.Equal(t, stateReserved, r.State)
	assert.Equal(t, int64(0), requireConsistentLedger(t, store, plenty))
	assert.Equal(t, int64(0), requireConsistentLedger(t, store, scarce))
}

func TestReserveOrderOnlyOnce(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	a := newArticle(t, store, "A", 10)
	b := newArticle(t, store, "B", 10)
	lines := []OrderLine{{a, 3}, {b, 1}}

	// The same order delivered several times at once, then again later.
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			r, err := store.ReserveOrder(ctx, "order-1", lines)
			assert.NoError(t, err)
			assert.Equal(t, stateReserved, r.State)
		})
	}
	wg.Wait()
	r, err := store.ReserveOrder(ctx, "order-1", []OrderLine{{a, 9}}) // a retry cannot change the order
	require.NoError(t, err)
	assert.Equal(t, stateReserved, r.State)
	assert.Equal(t, []ReservedLine{{a, 3, true, "", 100, 7}, {b, 1, true, "", 100, 9}}, sortedLines(r.Lines, a, b))

	assert.Equal(t, int64(7), requireConsistentLedger(t, store, a))
	assert.Equal(t, int64(9), requireConsistentLedger(t, store, b))
	assert.Len(t, ledger(t, store, a), 2, "initial stock and one reservation")
}

func sortedLines(lines []ReservedLine, ids ...string) []ReservedLine {
	var out []ReservedLine
	for _, id := range ids {
		for _, l := range lines {
			if l.ArticleID == id {
				out = append(out, l)
			}
		}
	}
	return out
}

var errCrash = errors.New("simulated crash")

// crashAt makes the store fail just before writing the n-th move whose id contains part.
func crashAt(store *Store, part string, n int) {
	var mu sync.Mutex
	seen := 0
	store.beforeMove = func(id string) error {
		if !strings.Contains(id, part) {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		seen++
		if seen == n {
			return errCrash
		}
		return nil
	}
}

func TestReserveOrderResumesAfterCrash(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	a := newArticle(t, store, "A", 4)
	b := newArticle(t, store, "B", 4)
	c := newArticle(t, store, "C", 4)
	lines := []OrderLine{{a, 1}, {b, 2}, {c, 3}}

	// The first try stops after reserving the first article of the order.
	crashAt(store, "/reserve", 2)
	_, err := store.ReserveOrder(ctx, "order-1", lines)
	require.ErrorIs(t, err, errCrash)
	_, found, err := store.reservation(ctx, "order-1")
	require.NoError(t, err)
	require.False(t, found, "the record is written last")
	assert.Equal(t, int64(3), balanceOf(t, store, a), "the first line was reserved before the crash")

	// The redelivery finishes the same reservation, reserving nothing twice.
	store.beforeMove = nil
	r, err := store.ReserveOrder(ctx, "order-1", lines)
	require.NoError(t, err)
	assert.Equal(t, stateReserved, r.State)
	assert.Equal(t, int64(3), requireConsistentLedger(t, store, a))
	assert.Equal(t, int64(2), requireConsistentLedger(t, store, b))
	assert.Equal(t, int64(1), requireConsistentLedger(t, store, c))
}

func TestRejectedOrderRollsBackAfterCrash(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	a := newArticle(t, store, "A", 4)
	b := newArticle(t, store, "B", 4)
	c := newArticle(t, store, "C", 4)
	lines := []OrderLine{{a, 1}, {b, 2}, {c, 99}} // c cannot be reserved

	// The first try reserves a and b, is refused c, and stops while giving back b.
	crashAt(store, "/release", 2)
	_, err := store.ReserveOrder(ctx, "order-1", lines)
	require.ErrorIs(t, err, errCrash)
	assert.Equal(t, int64(4), balanceOf(t, store, a), "a was released before the crash")
	assert.Equal(t, int64(2), balanceOf(t, store, b), "b is still held")

	// Meanwhile c got stock: the order stays rejected, since c was refused for good.
	cid, _ := parseArticleID(c)
	_, err = store.SetStock(ctx, cid, 200, nil)
	require.NoError(t, err)

	store.beforeMove = nil
	for range 2 {
		r, err := store.ReserveOrder(ctx, "order-1", lines)
		require.NoError(t, err)
		assert.Equal(t, stateRejected, r.State)
	}
	assert.Equal(t, int64(4), requireConsistentLedger(t, store, a))
	assert.Equal(t, int64(4), requireConsistentLedger(t, store, b))
	assert.Equal(t, int64(200), requireConsistentLedger(t, store, c))
	releases := 0
	for _, id := range []string{a, b} {
		for _, m := range ledger(t, store, id) {
			if m.Reason == moveRelease {
				releases++
			}
		}
	}
	assert.Equal(t, 2, releases, "each reserved line released exactly once")
}
