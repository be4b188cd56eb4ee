package orders

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/contract/contracttest"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// TestStuckOrderRepair: a placed order whose order_placed never went out (a crash right after
// storing placed) is published by the placed job; one still unanswered afterwards gets its
// order_placed published again — never a plain article-data request, which catalog answers
// without looking at the order's stock reservation — and a projection left behind its events
// is rebuilt.
func TestStuckOrderRepair(t *testing.T) {
	url := testkit.RabbitURL(t)
	b := testkit.DialRabbit(t, url)
	svc, store := newService(t, b)
	ctx := context.Background()
	sellFlow := collect(t, b, "catalog_order_placed")
	catalogQ := collect(t, b, "catalog")

	o := mustPlace(t, svc, "cart-1", "u1", Line{"A", 1}, Line{"B", 2}) // stored, never published

	require.NoError(t, svc.RunStatusJob(ctx, StatusPlaced, time.Hour))
	require.NoError(t, svc.RunStatusJob(ctx, StatusPlaced, 0))
	testkit.Eventually(t, 10*time.Second, func() bool { return len(sellFlow.all()) > 0 }, "order_placed published")
	d := sellFlow.all()[0]
	m := contracttest.Produced(t, d)
	assert.Equal(t, contract.OrderPlaced{OrderID: o.ID, CartID: "cart-1", UserID: "u1", Articles: []contract.OrderLine{{ArticleID: "A", Quantity: 1}, {ArticleID: "B", Quantity: 2}}}, m)
	assert.Equal(t, [2]string{"order", "order"}, [2]string{d.Envelope.Exchange, d.Envelope.Queue})
	assert.Len(t, mustEvents(t, store, o.ID), 1, "publishing stores nothing: the placed event alone")

	// Catalog answers for A, but that event never reached the projection (a crash after the
	// append).
	events := mustEvents(t, store, o.ID)
	require.NoError(t, store.Append(ctx, Event{OrderID: o.ID, Version: len(events) + 1, Type: EventArticleValidated,
		At: svc.now(), Article: &ArticleData{ArticleID: "A", Valid: true, Price: 100}}))

	require.NoError(t, svc.RunStatusJob(ctx, StatusPlaced, 0))
	require.NoError(t, svc.RunStatusJob(ctx, StatusPlaced, 0))
	testkit.Eventually(t, 10*time.Second, func() bool { return len(sellFlow.all()) == 3 }, "order_placed published again by each job")
	for _, d := range sellFlow.all() {
		var again contract.OrderPlaced
		require.NoError(t, d.Decode(&again))
		assert.Equal(t, m, again, "the same order_placed: catalog answers from its reservation")
		assert.Equal(t, [2]string{"order", "order"}, [2]string{d.Envelope.Exchange, d.Envelope.Queue})
	}
	assert.Empty(t, catalogQ.all(), "no article-data request: catalog would answer it without the reservation")

	got, err := svc.Get(ctx, o.ID)
	require.NoError(t, err)
	a, _ := got.Article("A")
	assert.True(t, a.IsValidated, "read with the answer the projection misses")

	page, total, err := store.StatusPage(ctx, StatusPlaced, 1, 10)
	require.NoError(t, err)
	require.EqualValues(t, 1, total)
	assert.Equal(t, OrderStatus{OrderID: o.ID, UserID: "u1", Status: StatusPlaced, Updated: got.Updated}, page[0])

	// Once validated, its Order_Status entry moves: by the placed job, since the answer that
	// validated it did not list it again (it is on the work list under placed until a job
	// sees it leave placed), and it is then off the work list.
	_, err = svc.RecordArticleData(ctx, o.ID, ArticleData{ArticleID: "B", Valid: true, Price: 50})
	require.NoError(t, err)
	require.NoError(t, svc.RunStatusJob(ctx, StatusValidated, 0))
	require.NoError(t, svc.RunStatusJob(ctx, StatusPlaced, time.Hour))
	page, _, err = store.StatusPage(ctx, "", 1, 10)
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, StatusValidated, page[0].Status)
	n, err := store.work.CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.Zero(t, n, "off the work list once shown")
	assert.Len(t, mustEvents(t, store, o.ID), 3, "placed, A, B: repeated repairs stored nothing twice")
}

// TestTwoWorkersShareJobs: two instances consume the job queue; every job is handled once, by
// one of them, and both get work.
func TestTwoWorkersShareJobs(t *testing.T) {
	url := testkit.RabbitURL(t)
	db := testkit.Mongo(t)
	ctx := context.Background()

	var mu sync.Mutex
	handled := map[string][]int{} // slot → workers that handled it
	bothBusy := make(chan struct{})
	busy := map[int]bool{}
	instances := make([]*Service, 2)
	for i := range instances {
		store, err := NewStore(ctx, db, time.Now)
		require.NoError(t, err)
		b := testkit.DialRabbit(t, url)
		instances[i] = NewService(store, ServiceConfig{Bus: b, Log: testkit.Logger(t)})
		work := handleStatusJob(instances[i], time.Hour)
		testkit.Consume(t, b, bus.Subscription{Queue: "order_status_jobs"}, func(ctx context.Context, d bus.Delivery) error {
			var job statusJob
			if err := d.Decode(&job); err != nil {
				t.Error(err)
				return err
			}
			mu.Lock()
			handled[job.Slot] = append(handled[job.Slot], i)
			if !busy[i] {
				busy[i] = true
				if len(busy) == 2 {
					close(bothBusy)
				}
			}
			mu.Unlock()
			// The first job of each worker waits for the other worker to take one: with one
			// job at a time per worker, the broker must then hand the next job to the other.
			select {
			case <-bothBusy:
			case <-time.After(20 * time.Second):
			}
			return work(ctx, d)
		})
	}
	mustPlace(t, instances[0], "cart-1", "u1", Line{"A", 1})

	const jobs = 8
	sc := JobSchedule{Status: StatusPlaced, Every: time.Second, Priority: 9}
	for i := range jobs {
		at := time.Unix(1_000_000+int64(i), 0)
		enqueued, err := instances[i%2].EnqueueJob(ctx, sc, at)
		require.NoError(t, err)
		require.True(t, enqueued)
		again, err := instances[(i+1)%2].EnqueueJob(ctx, sc, at.Add(100*time.Millisecond))
		require.NoError(t, err)
		assert.False(t, again, "the other instance's scheduler finds the slot taken")
	}

	testkit.Eventually(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handled) == jobs
	}, "every job handled")
	mu.Lock()
	defer mu.Unlock()
	perWorker := map[int]int{}
	for slot, by := range handled {
		assert.Len(t, by, 1, "slot %s handled once", slot)
		perWorker[by[0]]++
	}
	assert.Positive(t, perWorker[0])
	assert.Positive(t, perWorker[1])
}

// TestSchedulersEnqueueEachSlotOnce runs two instances' schedulers together: each time slot
// is enqueued once, whichever instance claims it.
func TestSchedulersEnqueueEachSlotOnce(t *testing.T) {
	url := testkit.RabbitURL(t)
	db := testkit.Mongo(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	schedules := []JobSchedule{{Status: StatusPlaced, Every: 50 * time.Millisecond, Priority: 9}}
	var stores []*Store
	var wg sync.WaitGroup
	for range 2 {
		store, err := NewStore(ctx, db, time.Now)
		require.NoError(t, err)
		stores = append(stores, store)
		svc := NewService(store, ServiceConfig{Bus: testkit.DialRabbit(t, url), Log: testkit.Logger(t)})
		wg.Go(func() { _ = svc.ScheduleJobs(ctx, schedules) })
	}
	jobs := collect(t, testkit.DialRabbit(t, url), "order_status_jobs")
	testkit.Eventually(t, 30*time.Second, func() bool { return len(jobs.all()) >= 6 }, "jobs enqueued")
	cancel()
	wg.Wait()

	claimed, err := stores[0].slots.CountDocuments(context.Background(), bson.D{})
	require.NoError(t, err)
	testkit.Eventually(t, 10*time.Second, func() bool { return int64(len(jobs.all())) == claimed }, "one job per claimed slot")
	seen := map[string]bool{}
	for _, d := range jobs.all() {
		var job statusJob
		require.NoError(t, d.Decode(&job))
		assert.False(t, seen[job.Slot], "slot %s enqueued twice", job.Slot)
		seen[job.Slot] = true
		assert.Equal(t, StatusPlaced, job.Status)
	}
}

// TestJobPriorities: with jobs waiting, the placed job (priority 9) is handed out before the
// finished orders' job (priority 1).
func TestJobPriorities(t *testing.T) {
	url := testkit.RabbitURL(t)
	b := testkit.DialRabbit(t, url)
	svc, _ := newService(t, b)
	ctx := context.Background()
	at := time.Unix(2_000_000, 0)
	for _, sc := range []JobSchedule{
		{Status: StatusPaymentDefined, Every: time.Minute, Priority: 1},
		{Status: StatusValidated, Every: time.Minute, Priority: 5},
		{Status: StatusPlaced, Every: time.Minute, Priority: 9},
	} {
		ok, err := svc.EnqueueJob(ctx, sc, at)
		require.NoError(t, err)
		require.True(t, ok)
	}
	jobs := collect(t, b, "order_status_jobs")
	testkit.Eventually(t, 10*time.Second, func() bool { return len(jobs.all()) == 3 }, "jobs received")
	var order []Status
	for _, d := range jobs.all() {
		var job statusJob
		require.NoError(t, d.Decode(&job))
		order = append(order, job.Status)
	}
	assert.Equal(t, []Status{StatusPlaced, StatusValidated, StatusPaymentDefined}, order)
}
