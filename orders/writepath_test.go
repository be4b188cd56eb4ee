package orders

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// checkoutCost is what one 3-line checkout costs orders, in store round trips, step by step.
type checkoutCost struct {
	place, publish int64
	answers        int64 // the three answers, delivered together as the order queue's consumer does
	payment        int64
	read           int64
}

// within checks that every part of c costs at most its budget.
func (c checkoutCost) within(t *testing.T, budget checkoutCost) {
	t.Helper()
	assert.LessOrEqual(t, c.place, budget.place, "place")
	assert.LessOrEqual(t, c.publish, budget.publish, "publish")
	assert.LessOrEqual(t, c.answers, budget.answers, "answers")
	assert.LessOrEqual(t, c.payment, budget.payment, "payment")
	assert.LessOrEqual(t, c.read, budget.read, "read")
}

// The cost of a change must not grow with the shop's history, nor with the order's own: every
// read of the write path is a lookup by _id.
func TestChangeCostDoesNotGrowWithHistory(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	store, err := NewStore(ctx, db, time.Now)
	require.NoError(t, err)
	svc := NewService(store, ServiceConfig{Bus: bus.NewMemory(contract.Topology), Log: testkit.Logger(t)})

	checkout := func(cartID string) (checkoutCost, Order) {
		var c checkoutCost
		var o Order
		c.place = trips.During(func() {
			o, _, err = svc.Place(ctx, Placed{CartID: cartID, UserID: "u1", Lines: []Line{{"A", 1}, {"B", 1}, {"C", 1}}})
			require.NoError(t, err)
		})
		c.publish = trips.During(func() { require.NoError(t, svc.PublishOrderPlaced(ctx, o)) })
		c.answers = trips.During(func() { o = answerTogether(t, svc, o.ID, "A", "B", "C") })
		require.Equal(t, StatusValidated, o.Status)
		c.payment = trips.During(func() {
			_, err = svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 1})
			require.NoError(t, err)
		})
		c.read = trips.During(func() {
			_, err = svc.Get(ctx, o.ID)
			require.NoError(t, err)
		})
		return c, o
	}
	first, o := checkout("cart-0")
	t.Logf("orders' round trips of a 3-line checkout: %+v", first)
	first.within(t, checkoutCost{
		// The user's list (its head, an entry), then insert placed, list for the status jobs.
		// No projection while placed.
		place:   2 + 2,
		publish: 0, // a message, no store
		// One batch, starting from the order as Place left it, in memory: one insert of the
		// three events, and the save of the now validated order. Not listed again: the order
		// is on the work list from its placed event until a job sees it leave placed.
		answers: 2,
		payment: 3, // insert, list for the status jobs, save
		read:    2, // the projection, a look for a next event
	})

	// More history: other orders, and as many more payments on the first one as it takes.
	for i := range 20 {
		mustValidate(t, svc, mustPlace(t, svc, fmt.Sprint("other-", i), "u2", Line{"A", 1}, Line{"B", 1}), 100)
	}
	var payment int64
	for range MaxPayments - 1 {
		payment = trips.During(func() {
			_, err = svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 1})
			require.NoError(t, err)
		})
	}
	assert.Equal(t, first.payment, payment, "a payment after 8 more events")
	repeated := trips.During(func() {
		_, created, err := svc.Place(ctx, Placed{CartID: "cart-0", UserID: "u1", Lines: []Line{{"A", 1}}})
		require.NoError(t, err)
		require.False(t, created)
	})
	// The list (a refused entry, a look at it), a look for an event after the order as this
	// instance left it: not a read of the order's 14 events.
	assert.LessOrEqual(t, repeated, int64(2+1), "a repeated place_order")
	again, _ := checkout("cart-1")
	first.place-- // the user's list continues after the entry this instance listed: no head
	assert.Equal(t, first, again, "a checkout after 20 more orders")
	assert.LessOrEqual(t, again.place+again.answers, int64(5), "orders' part of a checkout")
}

// answerTogether delivers valid answers for articles of the order concurrently, as the order
// queue's consumer does, and returns the order as the last of them left it.
func answerTogether(t testing.TB, svc *Service, orderID string, articles ...string) Order {
	t.Helper()
	results := make([]Order, len(articles))
	var wg sync.WaitGroup
	for i, a := range articles {
		wg.Go(func() {
			o, err := svc.RecordArticleData(context.Background(), orderID, ArticleData{ArticleID: a, Valid: true, Price: 1000, Stock: 5})
			assert.NoError(t, err)
			results[i] = o
		})
	}
	wg.Wait()
	last := results[0]
	for _, o := range results {
		if o.Version > last.Version {
			last = o
		}
	}
	return last
}

// Catalog's answers about an order arrive together: within one instance they are stored by one
// change, one insert of all their events, and every caller gets the order it left.
func TestConcurrentAnswersAreOneInsert(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	store, err := NewStore(ctx, db, time.Now)
	require.NoError(t, err)
	svc := NewService(store, ServiceConfig{Log: testkit.Logger(t)})
	for i := range 5 {
		o := mustPlace(t, svc, fmt.Sprint("cart-", i), "u1", Line{"A", 1}, Line{"B", 1}, Line{"C", 1})
		results := make([]Order, 3)
		cost := trips.During(func() {
			var wg sync.WaitGroup
			for j, a := range []string{"A", "B", "C"} {
				wg.Go(func() {
					var err error
					results[j], err = svc.RecordArticleData(ctx, o.ID, ArticleData{ArticleID: a, Valid: true, Price: 100})
					assert.NoError(t, err)
				})
			}
			wg.Wait()
		})
		assert.LessOrEqual(t, cost, int64(2), "one insert of the three events, one save of the validated order")
		events := mustEvents(t, store, o.ID)
		require.Len(t, events, 4)
		for v, e := range events {
			assert.Equal(t, v+1, e.Version)
		}
		got, err := svc.Get(ctx, o.ID)
		require.NoError(t, err)
		assert.Equal(t, StatusValidated, got.Status)
		assert.Equal(t, Fold(events), got)
		for _, r := range results {
			assert.Equal(t, got, r, "each caller gets the order the batch left")
		}
	}
	assert.Zero(t, svc.turns.Len(), "no turn is kept once its changes are done")
	assert.Empty(t, svc.answers.open, "no batch is kept once stored")
}

// Answers that arrive apart are each stored by a change of their own (one insert each), wait at
// most answerLinger for company, and store nothing twice; a batch of repeats stores nothing.
func TestAnswersArrivingApart(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	store, err := NewStore(ctx, db, time.Now)
	require.NoError(t, err)
	svc := NewService(store, ServiceConfig{Log: testkit.Logger(t)})
	o := mustPlace(t, svc, "cart-1", "u1", Line{"A", 1}, Line{"B", 2}, Line{"C", 1})
	var costs []int64
	for _, a := range []string{"A", "B", "A", "C"} { // A delivered twice
		costs = append(costs, trips.During(func() {
			var err error
			o, err = svc.RecordArticleData(ctx, o.ID, ArticleData{ArticleID: a, Valid: true, Price: 100})
			require.NoError(t, err)
		}))
	}
	// An insert each; the repeated A a look for an event after the order as left (none); the
	// validating answer an insert and a save.
	assert.Equal(t, []int64{1, 1, 1, 2}, costs)
	assert.Equal(t, StatusValidated, o.Status)
	assert.Equal(t, money.Cents(400), o.TotalPrice)
	events := mustEvents(t, store, o.ID)
	require.Len(t, events, 4, "placed + one answer per article")
	assert.Equal(t, Fold(events), o)

	// The same answers again, together: nothing is stored.
	again := answerTogether(t, svc, o.ID, "A", "B", "C", "C")
	assert.Equal(t, o, again)
	assert.Len(t, mustEvents(t, store, o.ID), 4)
}

// Two instances get the answers of the same orders at the same time (each answer delivered to
// both, as after a redelivery): each instance batches what it gets, their inserts race on the
// event _ids and fact keys, and the losers catch up and decide again. Exactly one event per
// article, no gap in the versions, and the status the answers say.
func TestTwoInstancesRaceAnswers(t *testing.T) {
	instances, store := newInstances(t, 2)
	ctx := context.Background()
	for i := range 6 {
		o := mustPlace(t, instances[i%2], fmt.Sprint("cart-", i), "u1", Line{"A", 1}, Line{"B", 1}, Line{"C", 1})
		invalid := i%3 == 0 // every third order: catalog refuses B
		var wg sync.WaitGroup
		for _, svc := range instances {
			for _, a := range []string{"A", "B", "C"} {
				wg.Go(func() {
					_, err := svc.RecordArticleData(ctx, o.ID, ArticleData{ArticleID: a, Valid: !(invalid && a == "B"), Price: 100})
					assert.NoError(t, err)
				})
			}
		}
		wg.Wait()
		events := mustEvents(t, store, o.ID)
		require.Len(t, events, 4, "order %d: placed + one answer per article", i)
		answered := map[string]int{}
		for v, e := range events {
			assert.Equal(t, v+1, e.Version, "versions have no gaps and no repeats")
			if e.Article != nil {
				answered[e.Article.ArticleID]++
			}
		}
		assert.Equal(t, map[string]int{"A": 1, "B": 1, "C": 1}, answered)
		want := StatusValidated
		if invalid {
			want = StatusInvalid
		}
		for _, svc := range instances {
			got, err := svc.Get(ctx, o.ID)
			require.NoError(t, err)
			assert.Equal(t, want, got.Status)
			assert.Equal(t, Fold(events), got)
		}
		stored, err := store.Order(ctx, o.ID)
		require.NoError(t, err)
		assert.Equal(t, Fold(events), stored, "projected once it left placed")
	}
}

// A writer that stopped between appending an event and projecting it (the orders service killed
// after storing a payment) leaves the projection behind; the next read repairs it, and so does
// the next status job.
func TestStaleProjectionIsRepaired(t *testing.T) {
	svc, store := newService(t, bus.NewMemory(contract.Topology))
	ctx := context.Background()
	lostPayment := func(cartID string) Order {
		o := mustValidate(t, svc, mustPlace(t, svc, cartID, "u1", Line{"A", 2}), 500)
		require.Equal(t, StatusValidated, o.Status)
		require.NoError(t, store.Append(ctx, Event{OrderID: o.ID, Version: o.Version + 1, Type: EventPaymentDefined,
			At: svc.now(), Payment: &Payment{Method: Debit, Amount: 1000}}))
		stale, err := store.Order(ctx, o.ID)
		require.NoError(t, err)
		require.Equal(t, o, stale, "the payment is stored, not projected")
		return o
	}

	// By a read.
	o := lostPayment("cart-read")
	got, err := svc.Get(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusPaymentDefined, got.Status)
	assert.Equal(t, money.Cents(1000), got.TotalPayment)
	assert.Equal(t, Fold(mustEvents(t, store, o.ID)), got)
	stored, err := store.Order(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, got, stored, "the projection is stored caught up")

	// By the status job that has it listed: the placed one (the answer that validated the
	// order left it listed under placed, and the payment's writer stopped before listing it).
	o = lostPayment("cart-job")
	require.NoError(t, svc.RunStatusJob(ctx, StatusPlaced, time.Hour))
	stored, err = store.Order(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusPaymentDefined, stored.Status)
	assert.Equal(t, Fold(mustEvents(t, store, o.ID)), stored)
	st, _, found, err := store.Status(ctx, o.ID)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, StatusPaymentDefined, st.Status)

	// By a write, which decides on the caught-up order: no payment over the total.
	o = lostPayment("cart-write")
	_, err = svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 1})
	assert.ErrorIs(t, err, errs.Conflict)
	stored, err = store.Order(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusPaymentDefined, stored.Status)
	assert.Len(t, mustEvents(t, store, o.ID), 3)

	// A projection missing altogether (killed right after the placed event): an answer of
	// catalog is not taken for one about an unknown order.
	placed := Event{OrderID: OrderIDForCart("cart-lost"), Version: 1, Type: EventPlaced, At: svc.now(),
		Placed: &Placed{CartID: "cart-lost", UserID: "u1", Lines: []Line{{"A", 1}}}}
	require.NoError(t, store.Append(ctx, placed))
	got, err = svc.RecordArticleData(ctx, placed.OrderID, ArticleData{ArticleID: "A", Valid: true, Price: 100})
	require.NoError(t, err)
	assert.Equal(t, StatusValidated, got.Status)
	assert.Equal(t, 2, got.Version)
}

// A place_order whose handler stopped right after the placed event (the order listed for its
// user, not yet for the status jobs, order_placed not published) is delivered again: the
// repeat finds the order stored and lists it for the status jobs, still without a projection.
func TestRepeatedPlaceListsAnOrderLeftOffTheWorkList(t *testing.T) {
	svc, store := newService(t, nil)
	ctx := context.Background()
	p := Placed{CartID: "cart-1", UserID: "u1", Lines: []Line{{"A", 1}}}
	id := OrderIDForCart(p.CartID)
	require.NoError(t, store.ListOrder(ctx, p.UserID, id))
	require.NoError(t, store.Append(ctx, Event{OrderID: id, Version: 1, Type: EventPlaced, At: svc.now(), Placed: &p}))
	ids, err := store.WorkWithStatus(ctx, StatusPlaced)
	require.NoError(t, err)
	require.Empty(t, ids)

	o, created, err := svc.Place(ctx, p)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, StatusPlaced, o.Status)
	ids, err = store.WorkWithStatus(ctx, StatusPlaced)
	require.NoError(t, err)
	assert.Equal(t, []string{id}, ids, "listed for the placed job")
	listed, err := store.OrdersOfUser(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, []Order{o}, listed)
	_, err = store.Order(ctx, id)
	assert.ErrorIs(t, err, errs.NotFound, "placed: still no projection")
	assert.Len(t, mustEvents(t, store, id), 1)
}

// AppendAll inserts in order and stops at the first refused event: the ones before it are
// stored, none after it, so an order's versions never get a gap.
func TestAppendAllStopsAtTheFirstRefused(t *testing.T) {
	svc, store := newService(t, nil)
	ctx := context.Background()
	o := mustPlace(t, svc, "cart-1", "u1", Line{"A", 1}, Line{"B", 1}, Line{"C", 1})
	answer := func(v int, article string) Event {
		return Event{OrderID: o.ID, Version: v, Type: EventArticleValidated, At: svc.now(), Article: &ArticleData{ArticleID: article, Valid: true}}
	}
	require.NoError(t, store.Append(ctx, answer(2, "B"))) // another instance was first

	// Version 2 is taken: nothing is stored, not even C at the free version 3.
	assert.ErrorIs(t, store.AppendAll(ctx, []Event{answer(2, "A"), answer(3, "C")}), errVersionTaken)
	assert.Len(t, mustEvents(t, store, o.ID), 2)

	// Version 3 is free, B's fact is taken at 4: A is stored, C after it is not.
	assert.ErrorIs(t, store.AppendAll(ctx, []Event{answer(3, "A"), answer(4, "B"), answer(5, "C")}), errVersionTaken)
	events := mustEvents(t, store, o.ID)
	require.Len(t, events, 3)
	assert.Equal(t, "A", events[2].Article.ArticleID)
}
