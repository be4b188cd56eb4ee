package catalog

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// A start (NewStore, then the read model's first load, as Run does) reads the articles and
// their heads, one document per article, and the rest by _id: no command reads the ledger,
// the versions or the reservations whole, and more history costs no more commands.
func TestStartCostsTheSameWhateverTheHistory(t *testing.T) {
	ctx := context.Background()
	db, commands := testkit.RecordingMongo(t)
	store, err := NewStore(ctx, db, testDeps(nil))
	require.NoError(t, err)
	ids := []string{newArticle(t, store, "Lamp", 50), newArticle(t, store, "Desk", 50)}
	orders := 0
	addHistory := func() {
		for _, id := range ids {
			oid, _ := parseArticleID(id)
			for i := range 5 {
				_, err := store.SetStock(ctx, oid, int64(100+i), nil)
				require.NoError(t, err)
			}
			_, err := store.UpdateArticle(ctx, id, articleChanges{Price: new(money.Cents(orders + 1))})
			require.NoError(t, err)
			orders++
			_, err = store.ReserveOrder(ctx, fmt.Sprintf("order-%d", orders), []OrderLine{{ArticleID: id, Quantity: 1}})
			require.NoError(t, err)
		}
	}
	start := func() []testkit.Command {
		return commands.During(func() {
			restarted, err := NewStore(ctx, db, testDeps(nil))
			require.NoError(t, err)
			require.NoError(t, loadView(ctx, restarted, newArticleView(), true))
		})
	}

	addHistory()
	first := start()
	for _, c := range first {
		readModel := c.Name == "find" && (c.Collection == "articles" || c.Collection == "stock_heads")
		assert.True(t, !c.Reads() || c.ByID() || readModel, "a start must not scan: %s %s %v", c.Name, c.Collection, c.Filters)
	}
	for range 3 {
		addHistory()
	}
	assert.Len(t, start(), len(first), "a start after four times the history")
}

// Concurrent edits of one article each get a version of their own, 2 to N+1, and none is lost:
// FerretDB's updates are not atomic, so versions are claimed by a unique _id (versions.go).
func TestConcurrentEditsGetDistinctVersions(t *testing.T) {
	ctx := context.Background()
	store := newTestStore(t)
	id := newArticle(t, store, "Lamp", 1)
	oid, _ := parseArticleID(id)
	const edits = 20
	var mu sync.Mutex
	versions := map[int64]int{}
	var wg sync.WaitGroup
	for i := range edits {
		wg.Go(func() {
			doc, err := store.writeArticle(ctx, oid, func(d *articleDoc) { d.Description += fmt.Sprintf(" e%d.", i) })
			if !assert.NoError(t, err) {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			versions[doc.Version]++
		})
	}
	wg.Wait()
	for v := int64(2); v <= edits+1; v++ {
		assert.Equal(t, 1, versions[v], "version %d", v)
	}
	stored, err := store.articleDoc(ctx, oid)
	require.NoError(t, err)
	assert.Equal(t, int64(edits+1), stored.Version, "the article holds the latest version")
	for i := range edits {
		assert.Contains(t, stored.Description, fmt.Sprintf(" e%d.", i), "every edit kept")
	}
	assert.Equal(t, edits, strings.Count(stored.Description, "."))
	var latest versionDoc
	require.NoError(t, store.versions.FindOne(ctx, bson.M{"_id": versionID(oid, edits+1)}).Decode(&latest))
	assert.Equal(t, stored, latest.Article)
}
