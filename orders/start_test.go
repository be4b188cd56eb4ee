package orders

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"golang.org/x/sync/errgroup"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// A start costs the same whatever the store holds: it declares the indexes and reads no
// document. Checked on an empty store and on one holding 10,000 orders of users with fewer than
// headEvery orders each (so no user has a list head), stored directly as orders stores them.
func TestStartReadsNoOrder(t *testing.T) {
	ctx := context.Background()
	start := func(db *mongo.Database, rec *storeCommands) ([]string, *Store) {
		var store *Store
		commands := rec.during(func() {
			var err error
			store, err = NewStore(ctx, db, time.Now)
			require.NoError(t, err)
		})
		names := make([]string, len(commands))
		for i, c := range commands {
			first := c.Index(0)
			names[i] = first.Key() + " " + first.Value().StringValue()
		}
		return names, store
	}
	emptyDB, emptyRec := recordingMongo(t)
	onEmpty, _ := start(emptyDB, emptyRec)

	db, rec := recordingMongo(t)
	start(db, rec) // the shop's first start
	const users, perUser = 2_000, 5
	require.Less(t, perUser, headEvery)
	storeOrders(t, db, users, perUser)
	onFull, store := start(db, rec)

	t.Logf("commands of a start: %v", onFull)
	assert.Equal(t, onEmpty, onFull, "the same commands whatever the store holds")
	assert.LessOrEqual(t, len(onFull), 8)
	for _, c := range onFull {
		assert.Regexp(t, `^createIndexes `, c, "a start only declares indexes")
	}
	listed, err := store.OrdersOfUser(ctx, "u7")
	require.NoError(t, err)
	assert.Len(t, listed, perUser, "the orders stored are there to be read")
}

// storeOrders stores perUser validated orders for each of users, as the write path leaves them
// (events, projection, list entry), directly and in parallel batches.
func storeOrders(t *testing.T, db *mongo.Database, users, perUser int) {
	t.Helper()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var events, orders, entries []any
	for u := range users {
		userID := fmt.Sprint("u", u)
		for n := 1; n <= perUser; n++ {
			cartID := fmt.Sprint(userID, ":", n)
			id := OrderIDForCart(cartID)
			placed := Event{OrderID: id, Version: 1, Type: EventPlaced, At: at,
				Placed: &Placed{CartID: cartID, UserID: userID, Lines: []Line{{"A", 1}}}}
			answer := Event{OrderID: id, Version: 2, Type: EventArticleValidated, At: at,
				Article: &ArticleData{ArticleID: "A", Valid: true, Price: 100}}
			events = append(events, toEventDoc(placed), toEventDoc(answer))
			orders = append(orders, toOrderDoc(Fold([]Event{placed, answer})))
			entries = append(entries, userOrderDoc{ID: userOrderID(userID, n), UserID: userID, N: n, OrderID: id})
		}
	}
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(mongox.MaxParallel)
	for coll, docs := range map[string][]any{"events": events, "orders": orders, "user_orders": entries} {
		for chunk := range slices.Chunk(docs, 1000) {
			g.Go(func() error {
				_, err := mongox.InsertAll(ctx, db.Collection(coll), chunk)
				return err
			})
		}
	}
	require.NoError(t, g.Wait())
}
