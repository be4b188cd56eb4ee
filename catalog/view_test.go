package catalog

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// countingStore is a Store on a fresh database whose client counts the commands it sends.
type countingStore struct {
	*Store
	*testkit.RoundTrips
}

func newCountingStore(t *testing.T, observe func(change)) countingStore {
	t.Helper()
	db, counter := testkit.CountingMongo(t)
	store, err := NewStore(context.Background(), db, testDeps(observe))
	require.NoError(t, err)
	return countingStore{store, counter}
}

// The cost of reading and moving stock must not grow with the ledger: the reads are by _id.
func TestStockCostDoesNotGrowWithHistory(t *testing.T) {
	store := newCountingStore(t, nil)
	ctx := context.Background()
	id := newArticle(t, store.Store, "Busy", 1000)
	oid, _ := parseArticleID(id)

	measure := func() (read, move, reserve int64) {
		read = store.During(func() {
			_, err := store.Balance(ctx, oid)
			require.NoError(t, err)
		})
		move = store.During(func() {
			_, err := store.SetStock(ctx, oid, 1000, nil)
			require.NoError(t, err)
		})
		reserve = store.During(func() {
			r, err := store.ReserveOrder(ctx, bson.NewObjectID().Hex(), []OrderLine{{ArticleID: id, Quantity: 1}})
			require.NoError(t, err)
			require.Equal(t, stateReserved, r.State)
		})
		return read, move, reserve
	}
	read, move, reserve := measure()
	assert.LessOrEqual(t, read, int64(2), "head, then one miss after it")
	assert.LessOrEqual(t, move, int64(2), "insert after the move this store knows of, head")
	assert.LessOrEqual(t, reserve, int64(3), "insert (the article's state is in the ledger), head, record")
	for i := range 60 {
		_, err := store.SetStock(ctx, oid, int64(i), nil)
		require.NoError(t, err)
	}
	read2, move2, reserve2 := measure()
	assert.Equal(t, []int64{read, move, reserve}, []int64{read2, move2, reserve2}, "after 60 more moves")
	assert.Equal(t, int64(999), requireConsistentLedger(t, store.Store, id))

	// A head left behind (a writer that stopped after its move) costs one lookup per move it
	// lags, and the stock is still exact.
	_, err := store.heads.UpdateOne(ctx, bson.M{"_id": oid.Hex()}, bson.M{"$inc": bson.M{"seq": -3}})
	require.NoError(t, err)
	head, err := store.headMove(ctx, oid)
	require.NoError(t, err)
	assert.LessOrEqual(t, store.During(func() {
		balance, err := store.Balance(ctx, oid)
		require.NoError(t, err)
		assert.Equal(t, int64(999), balance)
	}), int64(5))
	m, err := store.latestFrom(ctx, head)
	require.NoError(t, err)
	assert.Equal(t, head.Seq+3, m.Seq)
}

// Reservations stay exact when heads lag as far as they can: a head reset to nothing while
// orders race only makes writers look further.
func TestConcurrentOrdersNeverOversellWithLaggingHeads(t *testing.T) {
	store := newTestStore(t)
	article := newArticle(t, store, "Last units", 10)
	ctx, stop := context.WithCancel(context.Background())
	var resetter sync.WaitGroup
	resetter.Go(func() {
		for ctx.Err() == nil {
			_, _ = store.heads.DeleteOne(context.Background(), bson.M{"_id": article})
		}
	})

	const orders = 30
	var reserved atomic.Int64
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			r, err := store.ReserveOrder(context.Background(), fmt.Sprintf("order-%02d", i),
				[]OrderLine{{ArticleID: article, Quantity: 1}})
			assert.NoError(t, err)
			if r.State == stateReserved {
				reserved.Add(1)
			}
		})
	}
	wg.Wait()
	stop()
	resetter.Wait()

	assert.Equal(t, int64(10), reserved.Load(), "exactly the 10 units are reserved")
	assert.Equal(t, int64(0), requireConsistentLedger(t, store, article))
	assert.Equal(t, int64(0), balanceOf(t, store, article))
}

// GET, list and search are answered from the read model, without the store.
func TestReadsDoNotAskTheStore(t *testing.T) {
	view := newArticleView()
	cs := newCountingStore(t, view.apply)
	checker := tokens.NewChecker("http://127.0.0.1:1", time.Minute)
	api := &testAPI{t: t, store: cs.Store, view: view,
		handler: NewServer(Deps{Basics: web.Basics{Log: testkit.Logger(t), Metrics: metrics.New("catalog")}, Tokens: checker, Store: cs.Store, View: view})}
	for i := range 20 {
		_, err := cs.CreateArticle(context.Background(), articleChanges{
			Name: new(fmt.Sprintf("Lamp %d", i)), Price: new(money.Cents(100)), Stock: new(int64(3)),
		})
		require.NoError(t, err)
	}
	a, found := firstArticle(api.view)
	require.True(t, found)
	assert.Zero(t, cs.During(func() {
		for _, path := range []string{"/articles/" + a.ID, "/articles?q=lamp&size=5", "/articles/search/lamp"} {
			status, body := api.do("GET", path, "", "")
			require.Equal(t, http.StatusOK, status, body)
		}
	}))
}

func firstArticle(v *articleView) (Article, bool) {
	items, _ := v.list(nil, 1, 1)
	if len(items) == 0 {
		return Article{}, false
	}
	return items[0], true
}

func TestViewKeepsTheNewestState(t *testing.T) {
	v := newArticleView()
	id := bson.NewObjectID()
	doc := func(version int64, name string, enabled bool) *articleDoc {
		return &articleDoc{ID: id, Name: name, Price: 100, Enabled: enabled, Version: version}
	}

	v.apply(change{ArticleID: id, Stock: &stockLevel{Seq: 2, Balance: 5}})
	_, found := v.get(id)
	assert.False(t, found, "stock alone is not an article")

	v.apply(change{ArticleID: id, Article: doc(2, "New name", true)})
	v.apply(change{ArticleID: id, Article: doc(1, "Old name", true)})      // late
	v.apply(change{ArticleID: id, Stock: &stockLevel{Seq: 1, Balance: 9}}) // late
	a, found := v.get(id)
	require.True(t, found)
	assert.Equal(t, "New name", a.Name)
	assert.Equal(t, int64(5), a.Stock)
	assert.Len(t, v.search([]string{"name"}, 10), 1)

	v.apply(change{ArticleID: id, Article: doc(3, "New name", false)})
	assert.Empty(t, v.search([]string{"name"}, 10), "disabled articles are not searched")
	items, total := v.list(nil, 1, 10)
	assert.Empty(t, items)
	assert.Zero(t, total)
	a, _ = v.get(id)
	assert.False(t, a.Enabled, "but still readable by id")
}

// A reload finds moves its head lags behind.
func TestLoadViewLooksPastLaggingHeads(t *testing.T) {
	store := newTestStore(t)
	ctx := context.Background()
	id := newArticle(t, store, "Lamp", 4)
	oid, _ := parseArticleID(id)
	_, err := store.SetStock(ctx, oid, 9, nil)
	require.NoError(t, err)
	_, err = store.heads.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"seq": 1, "balance": 4}})
	require.NoError(t, err)

	v := newArticleView()
	require.NoError(t, loadView(ctx, store, v, true))
	a, found := v.get(oid)
	require.True(t, found)
	assert.Equal(t, int64(9), a.Stock)
}

// An admin's change on one instance is seen by another (the catalog_changes broadcast, not the
// periodic reload): by id, in searches and in listings.
func TestOtherInstanceSeesAdminChange(t *testing.T) {
	auth := testkit.NewAuth(t)
	auth.Add(adminToken, "admin1", "user", "admin")
	db := testkit.Mongo(t)
	env := map[string]string{
		"MONGO_URL": testkit.MongoURL(t), "MONGO_DB": db.Name(),
		"RABBIT_URL": testkit.RabbitURL(t), "AUTH_SERVICE_URL": auth.URL,
		"CATALOG_VIEW_RELOAD": "1h", // so only the broadcast can bring the change
	}
	first := testkit.RunService(t, Run, env, nil)
	second := testkit.RunService(t, Run, env, nil)

	created := decode[Article](t, call(t, "POST", first+"/articles", `{"name":"Plain lamp","price":10,"stock":2}`))
	assert.Equal(t, "Plain lamp", decode[Article](t, call(t, "GET", second+"/articles/"+created.ID, "")).Name)

	call(t, "POST", first+"/articles/"+created.ID, `{"name":"Zebra lamp","stock":7}`)
	testkit.Eventually(t, broadcastDeadline, func() bool {
		a := decode[Article](t, call(t, "GET", second+"/articles/"+created.ID, ""))
		found := decode[[]Article](t, call(t, "GET", second+"/articles/search/zebra", ""))
		return a.Name == "Zebra lamp" && a.Stock == 7 && len(found) == 1 && found[0].Stock == 7
	}, "the other instance sees the change")

	call(t, "DELETE", first+"/articles/"+created.ID, "")
	testkit.Eventually(t, broadcastDeadline, func() bool {
		found := decode[[]Article](t, call(t, "GET", second+"/articles/search/zebra", ""))
		return len(found) == 0 && !decode[Article](t, call(t, "GET", second+"/articles/"+created.ID, "")).Enabled
	})
}

// broadcastDeadline is how long a test waits for a broadcast: generous, since a busy machine
// may take seconds; the reload the test turns off would take an hour.
const broadcastDeadline = 30 * time.Second

// call sends an admin request to a running catalog and returns the body of its 200 answer.
func call(t *testing.T, method, target, body string) string {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	req, err := http.NewRequest(method, u.String(), strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
	return string(out)
}

// Reads carry an ETag; sending it back gets 304 until the article changes.
func TestConditionalGet(t *testing.T) {
	api := newTestAPI(t)
	a := api.create("Lamp", "", "10", 1)
	get := func(path, tag string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if tag != "" {
			req.Header.Set("If-None-Match", tag)
		}
		rec := httptest.NewRecorder()
		api.handler.ServeHTTP(rec, req)
		return rec
	}
	for _, path := range []string{"/articles/" + a.ID, "/articles/search/lamp", "/articles?q=lamp"} {
		first := get(path, "")
		require.Equal(t, http.StatusOK, first.Code)
		tag := first.Header().Get("ETag")
		require.NotEmpty(t, tag, path)
		again := get(path, tag)
		assert.Equal(t, http.StatusNotModified, again.Code, path)
		assert.Empty(t, again.Body.String(), path)
		assert.Equal(t, http.StatusOK, get(path, `"other"`).Code, path)
	}
	tag := get("/articles/"+a.ID, "").Header().Get("ETag")
	status, _ := api.do("POST", "/articles/"+a.ID, adminToken, `{"stock":3}`)
	require.Equal(t, http.StatusOK, status)
	changed := get("/articles/"+a.ID, tag)
	assert.Equal(t, http.StatusOK, changed.Code, "a changed article is sent again")
	assert.NotEqual(t, tag, changed.Header().Get("ETag"))
}

// normalize folds case and accents; plain ASCII takes a shortcut with the same result.
func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"Reading LAMP": "reading lamp", "Canción": "cancion", "MÚSICA suave": "musica suave", "": "",
	} {
		assert.Equal(t, want, normalize(in), in)
	}
}
