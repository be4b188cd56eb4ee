package orders

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// storeCommands records the commands a client sends: each one round trip.
type storeCommands struct {
	mu   sync.Mutex
	list []bson.Raw
}

func (c *storeCommands) during(f func()) []bson.Raw {
	c.mu.Lock()
	start := len(c.list)
	c.mu.Unlock()
	f()
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bson.Raw(nil), c.list[start:]...)
}

// recordingMongo returns a fresh database reached by a client that records its commands.
func recordingMongo(t *testing.T) (*mongo.Database, *storeCommands) {
	t.Helper()
	db := testkit.Mongo(t)
	rec := &storeCommands{}
	monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		rec.mu.Lock()
		rec.list = append(rec.list, append(bson.Raw(nil), e.Command...))
		rec.mu.Unlock()
	}}
	client, err := mongo.Connect(options.Client().ApplyURI(testkit.MongoURL(t)).SetMonitor(monitor))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client.Database(db.Name()), rec
}

// scans returns the commands that read or write documents of a collection other than the work
// list with a filter other than exactly {_id: <string>}: on FerretDB/SQLite those scan the
// collection, even with an _id in the filter next to something else (docs/mongo-wire.md).
func scans(commands []bson.Raw) []string {
	var out []string
	for _, c := range commands {
		first := c.Index(0)
		name, coll := first.Key(), first.Value().StringValue()
		var filters []bson.RawValue
		switch name {
		case "find", "count", "aggregate":
			filters = append(filters, c.Lookup("filter"))
		case "update", "delete":
			key := map[string]string{"update": "updates", "delete": "deletes"}[name]
			values, _ := c.Lookup(key).Array().Values()
			for _, v := range values {
				filters = append(filters, v.Document().Lookup("q"))
			}
		default:
			continue
		}
		if coll == "status_work" {
			continue // the work list: small, scanned on purpose
		}
		for _, f := range filters {
			doc, ok := f.DocumentOK()
			elems, _ := doc.Elements()
			if !ok || len(elems) != 1 || elems[0].Key() != "_id" || elems[0].Value().Type != bson.TypeString {
				out = append(out, fmt.Sprintf("%s %s %v", name, coll, f))
			}
		}
	}
	return out
}

// The status jobs' cost must not grow with the finished orders: they read the work list, then
// each order on it by _id. Twice the same open orders, once after 10 and once after 40 finished
// ones: the same commands, none a scan of a collection that keeps history.
func TestStatusJobCostDoesNotGrowWithHistory(t *testing.T) {
	ctx := context.Background()
	db, rec := recordingMongo(t)
	store, err := NewStore(ctx, db, time.Now)
	require.NoError(t, err)
	svc := NewService(store, ServiceConfig{Bus: bus.NewMemory(contract.Topology), Log: testkit.Logger(t)})
	statuses := []Status{StatusPlaced, StatusValidated, StatusInvalid, StatusPaymentDefined}
	runAll := func() {
		for _, st := range statuses {
			require.NoError(t, svc.RunStatusJob(ctx, st, time.Hour))
		}
	}
	finished := 0
	addHistory := func(n int) {
		for range n {
			finished++
			o := mustPlace(t, svc, fmt.Sprint("old-", finished), "u-old", Line{"A", 1})
			if finished%4 == 0 {
				_, err := svc.RecordArticleData(ctx, o.ID, ArticleData{ArticleID: "A", Valid: false})
				require.NoError(t, err)
				continue
			}
			o = mustValidate(t, svc, o, 100)
			_, err := svc.Pay(ctx, owner("u-old"), o.ID, Payment{Method: Cash, Amount: 100})
			require.NoError(t, err)
		}
		runAll()
	}
	open := mustPlace(t, svc, "open", "u1", Line{"A", 1}) // stays placed: on the list for good
	// cost runs each job once with one placed order and one just validated order on the list.
	round := 0
	cost := func() map[Status]int {
		round++
		mustValidate(t, svc, mustPlace(t, svc, fmt.Sprint("new-", round), "u1", Line{"A", 1}), 100)
		out := map[Status]int{}
		for _, st := range statuses {
			commands := rec.during(func() { require.NoError(t, svc.RunStatusJob(ctx, st, time.Hour)) })
			assert.Empty(t, scans(commands), "the %s job scans no collection but the work list", st)
			out[st] = len(commands)
		}
		return out
	}

	addHistory(10)
	before := cost()
	t.Logf("round trips of each status job: %v", before)
	addHistory(30)
	after := cost()
	assert.Equal(t, before, after, "the same after 30 more finished orders")
	budget := map[Status]int{
		// The list; the open order (no projection, its placed event, a look for a next event),
		// its entry; the just validated order, still listed under placed (the order, a look,
		// its entry, save it, drop it, look again: event, entry).
		StatusPlaced:         1 + 4 + 7,
		StatusValidated:      1, // the list: nothing on it
		StatusInvalid:        1,
		StatusPaymentDefined: 1,
	}
	for st, n := range budget {
		assert.LessOrEqual(t, after[st], n, "the %s job", st)
	}

	ids, err := store.WorkWithStatus(ctx, StatusPlaced)
	require.NoError(t, err)
	assert.Equal(t, []string{open.ID}, ids, "only the open order stays on the list")
	n, err := store.work.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	n, err = store.statuses.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.EqualValues(t, 40+2+1, n, "every order has its Order_Status entry")
}

// Each change a client sees reaches Order_Status through the jobs: a partial payment, the last
// payment, a late answer on an invalid order.
func TestStatusJobsFollowEveryChange(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	svc, store := newServiceWith(t, ServiceConfig{Bus: bus.NewMemory(contract.Topology), Now: clock.Now})
	ctx := context.Background()
	shows := func(id string) {
		t.Helper()
		o, err := store.Order(ctx, id)
		require.NoError(t, err)
		st, version, found, err := store.Status(ctx, id)
		require.NoError(t, err)
		require.True(t, found)
		assert.True(t, sameStatus(statusOf(o), st), "entry %+v shows %+v", st, statusOf(o))
		assert.Equal(t, o.Version, version)
	}
	runAll := func() {
		for _, st := range []Status{StatusPlaced, StatusValidated, StatusInvalid, StatusPaymentDefined} {
			require.NoError(t, svc.RunStatusJob(ctx, st, time.Hour))
		}
	}

	paid := mustValidate(t, svc, mustPlace(t, svc, "cart-paid", "u1", Line{"A", 2}), 500)
	runAll()
	shows(paid.ID)
	clock.Add(time.Second) // a later Updated
	_, err := svc.Pay(ctx, owner("u1"), paid.ID, Payment{Method: Cash, Amount: 300})
	require.NoError(t, err)
	runAll()
	shows(paid.ID)
	_, err = svc.Pay(ctx, owner("u1"), paid.ID, Payment{Method: Cash, Amount: 700})
	require.NoError(t, err)
	runAll()
	shows(paid.ID)

	invalid := mustPlace(t, svc, "cart-invalid", "u1", Line{"A", 1}, Line{"B", 1})
	_, err = svc.RecordArticleData(ctx, invalid.ID, ArticleData{ArticleID: "A", Valid: false})
	require.NoError(t, err)
	runAll()
	shows(invalid.ID)
	clock.Add(time.Second)
	_, err = svc.RecordArticleData(ctx, invalid.ID, ArticleData{ArticleID: "B", Valid: true, Price: 100})
	require.NoError(t, err)
	runAll()
	shows(invalid.ID)

	n, err := store.work.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.Zero(t, n, "no open order: the work list is empty")

	// An older entry (a slower job that read the order earlier) does not replace a newer one.
	require.NoError(t, svc.saveStatusIfChanged(ctx, paid))
	shows(paid.ID)
}

// Payments race with status jobs dropping the orders from the work list: once the jobs have
// run after the last payment, every entry shows its order. A job that dropped an order just
// as a writer listed it again must put it back.
func TestStatusJobsRacingPayments(t *testing.T) {
	svc, store := newService(t, bus.NewMemory(contract.Topology))
	ctx := context.Background()
	var ids []string
	for i := range 8 {
		o := mustValidate(t, svc, mustPlace(t, svc, fmt.Sprint("cart-", i), "u1", Line{"A", 1}), 100_000)
		ids = append(ids, o.ID)
	}
	stop := make(chan struct{})
	var jobs sync.WaitGroup
	for range 2 { // two instances' workers
		jobs.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := svc.RunStatusJob(ctx, StatusValidated, time.Hour); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var payers sync.WaitGroup
	for _, id := range ids {
		payers.Go(func() {
			for range MaxPayments {
				if _, err := svc.Pay(ctx, owner("u1"), id, Payment{Method: Cash, Amount: 1}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	payers.Wait()
	close(stop)
	jobs.Wait()
	require.NoError(t, svc.RunStatusJob(ctx, StatusValidated, time.Hour))
	for _, id := range ids {
		o, err := store.Order(ctx, id)
		require.NoError(t, err)
		require.Len(t, o.Payments, MaxPayments)
		st, version, found, err := store.Status(ctx, id)
		require.NoError(t, err)
		require.True(t, found)
		assert.True(t, sameStatus(statusOf(o), st), "order %s: entry %+v, order %+v", id, st, statusOf(o))
		assert.Equal(t, o.Version, version)
	}
}

// No read or write of the orders write path scans a collection: each names one exact _id.
func TestWritePathScansNothing(t *testing.T) {
	ctx := context.Background()
	db, rec := recordingMongo(t)
	store, err := NewStore(ctx, db, time.Now)
	require.NoError(t, err)
	svc := NewService(store, ServiceConfig{Bus: bus.NewMemory(contract.Topology), Log: testkit.Logger(t)})
	commands := rec.during(func() {
		o := mustPlace(t, svc, "cart-1", "u1", Line{"A", 1}, Line{"B", 1})
		require.NoError(t, svc.PublishOrderPlaced(ctx, o))
		o = mustValidate(t, svc, o, 100)
		_, err := svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 50})
		require.NoError(t, err)
		_, err = svc.Get(ctx, o.ID)
		require.NoError(t, err)
	})
	assert.Empty(t, scans(commands))
}
