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
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
)

// newService returns a service over a fresh database, publishing to p (nil when the test
// publishes nothing).
func newService(t testing.TB, p bus.Publisher) (*Service, *Store) {
	return newServiceWith(t, ServiceConfig{Bus: p})
}

// newServiceWith returns a service configured with c over a fresh database.
func newServiceWith(t testing.TB, c ServiceConfig) (*Service, *Store) {
	t.Helper()
	store, err := NewStore(context.Background(), testkit.Mongo(t), clockOf(c))
	require.NoError(t, err)
	c.Log = testkit.Logger(t)
	return NewService(store, c), store
}

// clockOf is the clock c names, or the wall clock.
func clockOf(c ServiceConfig) func() time.Time {
	if c.Now == nil {
		return time.Now
	}
	return c.Now
}

// newInstances returns n services over one fresh database, as n instances of orders would be:
// each takes turns with itself only, so their concurrent changes race on the store's unique ids.
func newInstances(t testing.TB, n int) ([]*Service, *Store) {
	return newInstancesWith(t, n, ServiceConfig{})
}

// newInstancesWith returns n instances configured with c, as newInstances does.
func newInstancesWith(t testing.TB, n int, c ServiceConfig) ([]*Service, *Store) {
	t.Helper()
	db := testkit.Mongo(t)
	c.Log = testkit.Logger(t)
	services := make([]*Service, n)
	var store *Store
	for i := range services {
		var err error
		store, err = NewStore(context.Background(), db, clockOf(c))
		require.NoError(t, err)
		services[i] = NewService(store, c)
	}
	return services, store
}

// mustPlace places the order of cartID for userID.
func mustPlace(t testing.TB, svc *Service, cartID, userID string, lines ...Line) Order {
	t.Helper()
	o, created, err := svc.Place(context.Background(), Placed{CartID: cartID, UserID: userID, Lines: lines})
	require.NoError(t, err)
	require.True(t, created)
	return o
}

// mustValidate records a valid answer with price for every article of o.
func mustValidate(t testing.TB, svc *Service, o Order, price money.Cents) Order {
	t.Helper()
	var err error
	for _, a := range o.Articles {
		o, err = svc.RecordArticleData(context.Background(), o.ID, ArticleData{ArticleID: a.ArticleID, Valid: true, Price: price, Stock: 10})
		require.NoError(t, err)
	}
	return o
}

func owner(id string) tokens.User {
	return tokens.User{ID: id, Permissions: []string{"user"}, Enabled: true}
}

func TestPlaceTwiceCreatesOneOrder(t *testing.T) {
	svc, store := newService(t, nil)
	ctx := context.Background()
	first := mustPlace(t, svc, "cart-1", "u1", Line{"A", 2})

	again, created, err := svc.Place(ctx, Placed{CartID: "cart-1", UserID: "u1", Lines: []Line{{"A", 5}}})
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, first, again, "the second place_order changes nothing")

	events, err := store.Events(ctx, first.ID)
	require.NoError(t, err)
	assert.Len(t, events, 1)
}

func TestConcurrentPlaceOfOneCart(t *testing.T) {
	instances, store := newInstances(t, 2)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := range 8 {
		wg.Go(func() {
			_, c, err := instances[i%2].Place(ctx, Placed{CartID: "cart-x", UserID: "u1", Lines: []Line{{"A", 1}}})
			assert.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			if c {
				created++
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, created)
	events, err := store.Events(ctx, OrderIDForCart("cart-x"))
	require.NoError(t, err)
	assert.Len(t, events, 1)
}

func TestArticleDataIsRecordedOnce(t *testing.T) {
	instances, store := newInstances(t, 2)
	svc := instances[0]
	ctx := context.Background()
	o := mustPlace(t, svc, "cart-1", "u1", Line{"A", 2}, Line{"B", 1}, Line{"C", 3})

	// Every answer three times, concurrently, to two instances.
	var wg sync.WaitGroup
	for i := range 3 {
		for _, id := range []string{"A", "B", "C"} {
			wg.Go(func() {
				_, err := instances[i%2].RecordArticleData(ctx, o.ID, ArticleData{ArticleID: id, Valid: true, Price: 250, Stock: 9})
				assert.NoError(t, err)
			})
		}
	}
	wg.Wait()

	events, err := store.Events(ctx, o.ID)
	require.NoError(t, err)
	assert.Len(t, events, 4, "placed + one answer per article")
	got, err := svc.Get(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusValidated, got.Status)
	assert.Equal(t, money.Cents(250*6), got.TotalPrice)
	assert.Equal(t, Fold(events), got, "the projection is the fold of the events")

	// Answers about unknown orders or articles are ignored.
	_, err = svc.RecordArticleData(ctx, OrderIDForCart("nope"), ArticleData{ArticleID: "A", Valid: true})
	require.NoError(t, err)
	_, err = svc.RecordArticleData(ctx, o.ID, ArticleData{ArticleID: "Z", Valid: false})
	require.NoError(t, err)
	events, err = store.Events(ctx, o.ID)
	require.NoError(t, err)
	assert.Len(t, events, 4)
}

func TestConcurrentPaymentsAreAllRecorded(t *testing.T) {
	instances, store := newInstances(t, 3)
	svc := instances[0]
	ctx := context.Background()
	o := mustValidate(t, svc, mustPlace(t, svc, "cart-1", "u1", Line{"A", 10}), 1000) // total 100.00

	const payers = 8 // on three instances: taking turns within one, racing between them
	var wg sync.WaitGroup
	for i := range payers {
		wg.Go(func() {
			_, err := instances[i%3].Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: money.Cents(100 + i)})
			assert.NoError(t, err)
		})
	}
	wg.Wait()

	events, err := store.Events(ctx, o.ID)
	require.NoError(t, err)
	require.Len(t, events, 2+payers)
	for i, e := range events {
		assert.Equal(t, i+1, e.Version, "versions have no gaps and no repeats")
	}
	got, err := svc.Get(ctx, o.ID)
	require.NoError(t, err)
	assert.Len(t, got.Payments, payers)
	assert.Equal(t, money.Cents(payers*100+(payers-1)*payers/2), got.TotalPayment)
	assert.Equal(t, StatusValidated, got.Status)

	// The payment that covers the rest defines it; after that no more payments are taken.
	_, err = svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Credit, Amount: got.AmountDue() + 1})
	assert.ErrorIs(t, err, errs.Invalid, "more than is due")
	got, err = svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Credit, Amount: got.AmountDue()})
	require.NoError(t, err)
	assert.Equal(t, StatusPaymentDefined, got.Status)
	_, err = svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Credit, Amount: 1})
	assert.ErrorIs(t, err, errs.Conflict)
}

func TestRebuildIsDeterministic(t *testing.T) {
	svc, store := newService(t, nil)
	ctx := context.Background()
	o := mustValidate(t, svc, mustPlace(t, svc, "cart-1", "u1", Line{"A", 1}, Line{"B", 2}), 500)
	_, err := svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Debit, Amount: 700})
	require.NoError(t, err)
	paid, err := svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 800})
	require.NoError(t, err)
	require.Equal(t, StatusPaymentDefined, paid.Status)

	for range 3 {
		rebuilt, err := svc.Rebuild(ctx, o.ID)
		require.NoError(t, err)
		assert.Equal(t, paid, rebuilt)
		stored, err := store.Order(ctx, o.ID)
		require.NoError(t, err)
		assert.Equal(t, paid, stored, "no duplicated payments after rebuilding")
	}

	// A lost projection is rebuilt when read.
	_, err = store.orders.DeleteOne(ctx, map[string]string{"_id": o.ID})
	require.NoError(t, err)
	got, err := svc.Get(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, paid, got)

	_, err = svc.Rebuild(ctx, OrderIDForCart("unknown"))
	assert.ErrorIs(t, err, errs.NotFound)
}

func TestPayRules(t *testing.T) {
	svc, _ := newService(t, nil)
	ctx := context.Background()
	placed := mustPlace(t, svc, "cart-placed", "u1", Line{"A", 1})
	valid := mustValidate(t, svc, mustPlace(t, svc, "cart-valid", "u1", Line{"A", 1}), 100)
	invalid := mustPlace(t, svc, "cart-invalid", "u1", Line{"A", 1})
	_, err := svc.RecordArticleData(ctx, invalid.ID, ArticleData{ArticleID: "A", Valid: false})
	require.NoError(t, err)
	admin := tokens.User{ID: "boss", Permissions: []string{"user", "admin"}}

	for _, tc := range []struct {
		name  string
		user  tokens.User
		order string
		want  error
	}{
		{"placed order", owner("u1"), placed.ID, errs.Conflict},
		{"invalid order", owner("u1"), invalid.ID, errs.Conflict},
		{"another user", owner("u2"), valid.ID, errs.NotFound},
		{"an admin who is not the owner", admin, valid.ID, errs.Forbidden},
		{"unknown order", owner("u1"), OrderIDForCart("none"), errs.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Pay(ctx, tc.user, tc.order, Payment{Method: Cash, Amount: 100})
			assert.ErrorIs(t, err, tc.want)
		})
	}
	got, err := svc.Pay(ctx, owner("u1"), valid.ID, Payment{Method: Cash, Amount: 100})
	require.NoError(t, err)
	assert.Equal(t, StatusPaymentDefined, got.Status)
}

// A slower writer may save an older projection after a newer one (conditional writes are not
// atomic on FerretDB): reads fold in the events after it, and the next read repairs it.
func TestProjectionNeverGoesBack(t *testing.T) {
	svc, store := newService(t, nil)
	ctx := context.Background()
	o := mustValidate(t, svc, mustPlace(t, svc, "cart-1", "u1", Line{"A", 1}, Line{"B", 1}), 100)
	older := Fold(mustEvents(t, store, o.ID)[:2])
	require.NoError(t, svc.project(ctx, older), "a stale writer is not an error")
	got, err := svc.Get(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, o, got, "read as the events say")
	stored, err := store.Order(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, o, stored, "a stale projection does not stay in place of a newer one")
	listed, err := store.OrdersOfUser(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, []Order{o}, listed)
}

func mustEvents(t testing.TB, store *Store, id string) []Event {
	t.Helper()
	events, err := store.Events(context.Background(), id)
	require.NoError(t, err)
	require.NotEmpty(t, events, fmt.Sprintf("events of %s", id))
	return events
}
