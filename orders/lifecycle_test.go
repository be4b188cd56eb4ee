package orders

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/contract/contracttest"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// A payment is at most the amount due: above it, 400 naming amount and the amount due, and
// nothing recorded; amountDue is on every order.
func TestPayWhatIsDueAPI(t *testing.T) {
	a := newAPI(t)
	o := mustValidate(t, a.svc, mustPlace(t, a.svc, "cart-1", "alice", Line{"A", 1}), 12_90)

	status, body := a.call(t, "GET", "/orders/"+o.ID, "ta", "")
	require.Equal(t, http.StatusOK, status)
	assert.EqualValues(t, 12.9, field(body, "amountDue"))

	status, body = a.call(t, "POST", "/orders/"+o.ID+"/payment", "ta", `{"method":"CASH","amount":1}`)
	require.Equal(t, http.StatusOK, status, body)
	assert.EqualValues(t, 11.9, field(body, "amountDue"))

	status, body = a.call(t, "POST", "/orders/"+o.ID+"/payment", "ta", `{"method":"CASH","amount":99999}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	assert.Equal(t, "exceeds_amount_due", field(body, "code"))
	msgs, _ := field(body, "messages").([]any)
	require.Len(t, msgs, 1)
	assert.Equal(t, "amount", field(msgs[0], "path"))
	assert.Equal(t, "exceeds_amount_due", field(msgs[0], "code"))
	assert.EqualValues(t, 11.9, field(field(msgs[0], "params"), "amountDue"))
	assert.Len(t, mustEvents(t, a.store, o.ID), 3, "placed, the answer, one payment: the refused one stored nothing")

	status, body = a.call(t, "POST", "/orders/"+o.ID+"/payment", "ta", `{"method":"DEBIT","amount":11.9}`)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "payment_defined", field(body, "status"))
	assert.EqualValues(t, 0, field(body, "amountDue"))
	assert.EqualValues(t, 12.9, field(body, "totalPayment"))

	// Any status but validated is 409, checked before the amount.
	status, body = a.call(t, "POST", "/orders/"+o.ID+"/payment", "ta", `{"method":"DEBIT","amount":99999}`)
	assert.Equal(t, http.StatusConflict, status, body)
	placed := mustPlace(t, a.svc, "cart-2", "alice", Line{"A", 1})
	status, _ = a.call(t, "POST", "/orders/"+placed.ID+"/payment", "ta", `{"method":"DEBIT","amount":99999}`)
	assert.Equal(t, http.StatusConflict, status)
}

// Concurrent payments of the whole amount on three instances: exactly one is recorded.
func TestConcurrentFullPaymentsNeverExceedTheTotal(t *testing.T) {
	instances, store := newInstances(t, 3)
	ctx := context.Background()
	o := mustValidate(t, instances[0], mustPlace(t, instances[0], "cart-1", "u1", Line{"A", 2}), 5_00)

	const payers = 6
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range payers {
		wg.Go(func() {
			_, err := instances[i%3].Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: o.TotalPrice})
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, errs.Conflict), errors.Is(err, errs.Invalid):
				refused.Add(1)
			default:
				t.Errorf("payment %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1, accepted.Load())
	assert.EqualValues(t, payers-1, refused.Load())
	got, err := instances[2].Get(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, o.TotalPrice, got.TotalPayment)
	assert.Len(t, mustEvents(t, store, o.ID), 3)
}

func TestCancelShipDeliverAPI(t *testing.T) {
	url := testkit.RabbitURL(t)
	b := testkit.DialRabbit(t, url)
	cancelled := collect(t, b, contract.QueueCatalogOrderCancelled)
	a := newAPIWith(t, ServiceConfig{Bus: b})
	ctx := context.Background()

	placed := mustPlace(t, a.svc, "cart-placed", "alice", Line{"A", 1})
	valid := mustValidate(t, a.svc, mustPlace(t, a.svc, "cart-valid", "alice", Line{"A", 2}), 1_00)
	paid := mustValidate(t, a.svc, mustPlace(t, a.svc, "cart-paid", "alice", Line{"A", 1}, Line{"B", 1}), 3_00)
	_, err := a.svc.Pay(ctx, owner("alice"), paid.ID, Payment{Method: Cash, Amount: 2_00})
	require.NoError(t, err)
	_, err = a.svc.Pay(ctx, owner("alice"), paid.ID, Payment{Method: Debit, Amount: 4_00})
	require.NoError(t, err)
	shipped := mustValidate(t, a.svc, mustPlace(t, a.svc, "cart-shipped", "alice", Line{"A", 1}), 1_00)
	_, err = a.svc.Pay(ctx, owner("alice"), shipped.ID, Payment{Method: Cash, Amount: 1_00})
	require.NoError(t, err)

	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
		want                            string // status of the order, or the error code
	}{
		{"a stranger cannot cancel", "POST", "/orders/" + valid.ID + "/cancel", "tb", "", 404, "not_found"},
		{"the owner cancels a placed order", "POST", "/orders/" + placed.ID + "/cancel", "ta", "", 200, "cancelled"},
		{"the owner cancels a validated one, with a reason", "POST", "/orders/" + valid.ID + "/cancel", "ta", `{"reason":"changed my mind"}`, 200, "cancelled"},
		{"cancelling again changes nothing", "POST", "/orders/" + valid.ID + "/cancel", "ta", `{"reason":"again"}`, 200, "cancelled"},
		{"a cancelled order is not paid", "POST", "/orders/" + valid.ID + "/payment", "ta", `{"method":"CASH","amount":1}`, 409, "order_cancelled"},
		{"an admin cancels a paid one", "POST", "/orders/" + paid.ID + "/cancel", "tr", "", 200, "cancelled"},
		{"a cancelled order is not shipped", "POST", "/orders/" + paid.ID + "/ship", "tr", `{"carrier":"UPS","trackingCode":"1Z"}`, 409, "not_shippable"},
		{"only admins ship", "POST", "/orders/" + shipped.ID + "/ship", "ta", `{"carrier":"UPS","trackingCode":"1Z"}`, 403, "missing_permission"},
		{"shipping needs a carrier", "POST", "/orders/" + shipped.ID + "/ship", "tr", `{"trackingCode":"1Z"}`, 400, "validation_failed"},
		{"not delivered before shipped", "POST", "/orders/" + shipped.ID + "/deliver", "tr", "", 409, "not_deliverable"},
		{"an admin ships a paid order", "POST", "/orders/" + shipped.ID + "/ship", "tr", `{"carrier":"UPS","trackingCode":"1Z999"}`, 200, "shipped"},
		{"a shipped order is not cancelled", "POST", "/orders/" + shipped.ID + "/cancel", "ta", "", 409, "not_cancellable"},
		{"a shipped order is not paid", "POST", "/orders/" + shipped.ID + "/payment", "ta", `{"method":"CASH","amount":1}`, 409, "order_paid"},
		{"only admins deliver", "POST", "/orders/" + shipped.ID + "/deliver", "ta", "", 403, "missing_permission"},
		{"an admin delivers it", "POST", "/orders/" + shipped.ID + "/deliver", "tr", "", 200, "delivered"},
		{"delivering again changes nothing", "POST", "/orders/" + shipped.ID + "/deliver", "tr", "", 200, "delivered"},
		{"a delivered order is not cancelled", "POST", "/orders/" + shipped.ID + "/cancel", "tr", "", 409, "not_cancellable"},
		{"a malformed id", "POST", "/orders/nope/cancel", "ta", "", 400, "malformed_id"},
		{"a reason of the wrong type", "POST", "/orders/" + placed.ID + "/cancel", "ta", `{"reason":5}`, 400, "validation_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := a.call(t, tc.method, tc.path, tc.token, tc.body)
			require.Equal(t, tc.status, status, "%v", body)
			if status == http.StatusOK {
				assert.Equal(t, tc.want, field(body, "status"))
			} else {
				assert.Equal(t, tc.want, field(body, "code"))
			}
		})
	}

	// The cancellations: by whom and why; the paid one refunded what it took, once.
	_, body := a.call(t, "GET", "/orders/"+valid.ID, "ta", "")
	c := field(body, "cancellation")
	assert.Equal(t, "changed my mind", field(c, "reason"), "the first cancellation counts")
	assert.Equal(t, "alice", field(c, "by"))
	assert.EqualValues(t, 0, field(body, "amountDue"))
	assert.Empty(t, field(body, "refunds"))
	_, body = a.call(t, "GET", "/orders/"+paid.ID, "tr", "")
	assert.Equal(t, []any{map[string]any{"amount": 6.0, "reason": "cancelled"}}, field(body, "refunds"))
	assert.Equal(t, "root", field(field(body, "cancellation"), "by"))
	assert.Len(t, mustEvents(t, a.store, valid.ID), 3, "placed, the answer, cancelled: cancelling again stored nothing")

	_, body = a.call(t, "GET", "/orders/"+shipped.ID, "ta", "")
	sh := field(body, "shipping")
	assert.Equal(t, "UPS", field(sh, "carrier"))
	assert.Equal(t, "1Z999", field(sh, "trackingCode"))
	assert.NotEmpty(t, field(sh, "shipped"))
	assert.NotEmpty(t, field(sh, "delivered"))

	// Rebuilding folds the new events to the same orders.
	for _, id := range []string{valid.ID, paid.ID, shipped.ID} {
		before, err := a.svc.Get(ctx, id)
		require.NoError(t, err)
		rebuilt, err := a.svc.Rebuild(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, before, rebuilt)
	}

	// order_cancelled for each cancellation, with the order's lines, as the contract says; a
	// repeated cancel publishes again (catalog returns stock once per order however often).
	testkit.Eventually(t, 10*time.Second, func() bool { return len(cancelled.all()) == 4 }, "order_cancelled published")
	seen := map[string]bool{}
	for _, d := range cancelled.all() {
		m := contracttest.Produced(t, d).(contract.OrderCancelled)
		seen[m.OrderID] = true
		assert.Equal(t, "alice", m.UserID)
		assert.NotEmpty(t, m.Articles)
	}
	assert.Equal(t, map[string]bool{placed.ID: true, valid.ID: true, paid.ID: true}, seen)
}

// A validated order not paid within the deadline is cancelled by the validated job (clock
// injected); a paid one is not; the deadline is in the JSON while it runs.
func TestPaymentDeadline(t *testing.T) {
	b := testkit.DialRabbit(t, testkit.RabbitURL(t))
	cancelled := collect(t, b, contract.QueueCatalogOrderCancelled)
	clock := testkit.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	svc, store := newServiceWith(t, ServiceConfig{Bus: b, Now: clock.Now, PaymentDeadline: 30 * time.Minute})
	ctx := context.Background()
	late := mustValidate(t, svc, mustPlace(t, svc, "cart-late", "u1", Line{"A", 1}), 1_00)
	partly := mustValidate(t, svc, mustPlace(t, svc, "cart-partly", "u1", Line{"A", 2}), 1_00)
	_, err := svc.Pay(ctx, owner("u1"), partly.ID, Payment{Method: Cash, Amount: 50})
	require.NoError(t, err)
	paid := mustValidate(t, svc, mustPlace(t, svc, "cart-paid", "u1", Line{"A", 1}), 1_00)
	_, err = svc.Pay(ctx, owner("u1"), paid.ID, Payment{Method: Cash, Amount: 1_00})
	require.NoError(t, err)

	j := toOrderJSON(late, svc.deadline)
	require.NotNil(t, j.PaymentDeadline)
	assert.Equal(t, clock.Now().Add(30*time.Minute), *j.PaymentDeadline)
	assert.Nil(t, toOrderJSON(late, 0).PaymentDeadline, "no deadline when it is off")

	jobs := func() {
		for _, st := range Statuses {
			require.NoError(t, svc.RunStatusJob(ctx, st, time.Hour))
		}
	}
	jobs()
	clock.Add(29 * time.Minute)
	jobs()
	for _, id := range []string{late.ID, partly.ID} {
		o, err := svc.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, StatusValidated, o.Status, "before the deadline")
	}
	clock.Add(time.Minute)
	jobs()
	for _, id := range []string{late.ID, partly.ID} {
		o, err := svc.Get(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, StatusCancelled, o.Status)
		assert.Equal(t, ReasonPaymentDeadline, o.Cancellation.Reason)
		assert.Nil(t, toOrderJSON(o, svc.deadline).PaymentDeadline)
		st, _, found, err := store.Status(ctx, id)
		require.NoError(t, err)
		assert.True(t, found)
		assert.Equal(t, StatusCancelled, st.Status, "Order_Status shows it")
	}
	o, err := svc.Get(ctx, partly.ID)
	require.NoError(t, err)
	assert.Equal(t, []Refund{{Amount: 50, Reason: ReasonPaymentDeadline}}, o.Refunds)
	o, err = svc.Get(ctx, paid.ID)
	require.NoError(t, err)
	assert.Equal(t, StatusPaymentDefined, o.Status)

	// Catalog is told, so their stock comes back.
	testkit.Eventually(t, 10*time.Second, func() bool { return len(cancelled.all()) >= 2 }, "order_cancelled published")
	for _, d := range cancelled.all() {
		m := contracttest.Produced(t, d).(contract.OrderCancelled)
		assert.Equal(t, ReasonPaymentDeadline, m.Reason)
		assert.Contains(t, []string{late.ID, partly.ID}, m.OrderID)
	}

	// Expired orders left the work list: the jobs stay flat in history.
	ids, err := store.WorkWithStatus(ctx, StatusValidated)
	require.NoError(t, err)
	assert.Empty(t, ids)
}

// At most maxUnpaid placed or validated-unpaid orders per user, also when one user checks out
// concurrently on three instances; paying or cancelling one frees its slot.
func TestUnpaidOrdersLimit(t *testing.T) {
	instances, _ := newInstancesWith(t, 3, ServiceConfig{MaxUnpaid: 3, Bus: bus.NewMemory(contract.Topology)})
	ctx := context.Background()
	const checkouts = 8
	var wg sync.WaitGroup
	orders := make([]Order, checkouts)
	for i := range checkouts {
		wg.Go(func() {
			o, _, err := instances[i%3].Place(ctx, Placed{CartID: fmt.Sprintf("cart-%d", i), UserID: "hoarder", Lines: []Line{{"A", 1}}})
			assert.NoError(t, err)
			orders[i] = o
		})
	}
	wg.Wait()
	var open, refused []Order
	for _, o := range orders {
		switch {
		case o.Status == StatusPlaced:
			open = append(open, o)
		case o.Status == StatusInvalid && o.Rejection == ReasonTooManyUnpaidOrders:
			refused = append(refused, o)
		default:
			t.Fatalf("order %s is %s", o.ID, o.Status)
		}
	}
	assert.Len(t, open, 3)
	assert.Len(t, refused, checkouts-3)
	assert.Equal(t, "too_many_unpaid_orders", toOrderJSON(refused[0], 0).Reason)

	// A repeated place_order of an open order keeps its one slot; of a refused one, stays refused.
	again, created, err := instances[1].Place(ctx, Placed{CartID: open[0].CartID, UserID: "hoarder", Lines: []Line{{"A", 1}}})
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, open[0].UnpaidSlot, again.UnpaidSlot)
	_, _, err = instances[1].Place(ctx, Placed{CartID: refused[0].CartID, UserID: "hoarder", Lines: []Line{{"A", 1}}})
	require.NoError(t, err)
	o, _, err := instances[0].Place(ctx, Placed{CartID: "cart-more", UserID: "hoarder", Lines: []Line{{"A", 1}}})
	require.NoError(t, err)
	assert.Equal(t, StatusInvalid, o.Status, "still three unpaid")

	// Paying one and cancelling another free two slots; another user is not affected.
	paid := mustValidate(t, instances[0], open[0], 1_00)
	_, err = instances[0].Pay(ctx, owner("hoarder"), paid.ID, Payment{Method: Cash, Amount: 1_00})
	require.NoError(t, err)
	_, err = instances[1].Cancel(ctx, owner("hoarder"), open[1].ID, "cancelled")
	require.NoError(t, err)
	got, err := instances[2].Get(ctx, open[1].ID)
	require.NoError(t, err)
	require.Equal(t, StatusCancelled, got.Status)
	for i := range 2 {
		o, _, err := instances[2].Place(ctx, Placed{CartID: fmt.Sprintf("cart-after-%d", i), UserID: "hoarder", Lines: []Line{{"A", 1}}})
		require.NoError(t, err)
		assert.Equal(t, StatusPlaced, o.Status, "a freed slot")
	}
	o, _, err = instances[2].Place(ctx, Placed{CartID: "cart-after-2", UserID: "hoarder", Lines: []Line{{"A", 1}}})
	require.NoError(t, err)
	assert.Equal(t, StatusInvalid, o.Status)
	o, _, err = instances[2].Place(ctx, Placed{CartID: "cart-other", UserID: "someone", Lines: []Line{{"A", 1}}})
	require.NoError(t, err)
	assert.Equal(t, StatusPlaced, o.Status)
}

// The unpaid-order limit costs a checkout one round trip in orders (the slot's insert), and
// paying an order in full two more (its slot read and given back); nothing with it off.
func TestUnpaidLimitCost(t *testing.T) {
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	store, err := NewStore(ctx, db, time.Now)
	require.NoError(t, err)
	unlimited := NewService(store, ServiceConfig{Bus: bus.NewMemory(contract.Topology), Log: testkit.Logger(t)})
	svc := NewService(store, ServiceConfig{Bus: bus.NewMemory(contract.Topology), Log: testkit.Logger(t), MaxUnpaid: 3})
	place := func(svc *Service, cartID string) (int64, Order) {
		var o Order
		n := trips.During(func() {
			o, _, err = svc.Place(ctx, Placed{CartID: cartID, UserID: "u1", Lines: []Line{{"A", 1}}})
			require.NoError(t, err)
		})
		return n, o
	}
	place(unlimited, "warm-up") // the user's list head
	off, _ := place(unlimited, "cart-off")
	_, warm := place(svc, "warm-up-2")                        // the list's end, as this instance knows it
	_, err = svc.Cancel(ctx, owner("u1"), warm.ID, "warm-up") // its slot given back
	require.NoError(t, err)
	on, o := place(svc, "cart-on")
	t.Logf("orders' round trips placing an order: %d without the unpaid-order limit, %d with it", off, on)
	assert.Equal(t, off+1, on)
	o = mustValidate(t, svc, o, 1_00)
	paying := trips.During(func() {
		_, err = svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 1_00})
		require.NoError(t, err)
	})
	assert.LessOrEqual(t, paying, int64(3+2))
}

// Cancellations racing payments on three instances: whatever wins, a cancelled order refunds
// exactly what it was paid, once, and no payment lands after the cancellation.
func TestCancelRacesPayments(t *testing.T) {
	instances, store := newInstancesWith(t, 3, ServiceConfig{Bus: bus.NewMemory(contract.Topology)})
	ctx := context.Background()
	for round := range 4 {
		o := mustValidate(t, instances[0], mustPlace(t, instances[0], fmt.Sprint("cart-", round), "u1", Line{"A", 4}), 1_00)
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				svc := instances[i%3]
				if i%3 == round%3 {
					_, err := svc.Cancel(ctx, owner("u1"), o.ID, "race")
					assert.NoError(t, err)
					return
				}
				_, err := svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 1_00})
				if err != nil {
					assert.ErrorIs(t, err, errs.Conflict)
				}
			})
		}
		wg.Wait()
		got, err := instances[1].Get(ctx, o.ID)
		require.NoError(t, err)
		require.Equal(t, StatusCancelled, got.Status)
		if got.TotalPayment > 0 {
			assert.Equal(t, []Refund{{Amount: got.TotalPayment, Reason: "race"}}, got.Refunds)
		} else {
			assert.Empty(t, got.Refunds)
		}
		events := mustEvents(t, store, o.ID)
		last := events[len(events)-1]
		assert.Contains(t, []EventType{EventCancelled, EventRefunded}, last.Type, "nothing after the cancellation")
	}
}

// An order refused for too many unpaid orders asks catalog for nothing: its order_placed, which
// cart waits for, names no article.
func TestRefusedOrderAsksCatalogForNothing(t *testing.T) {
	b := testkit.DialRabbit(t, testkit.RabbitURL(t))
	placed := collect(t, b, contract.QueueCatalogOrderPlaced)
	svc, _ := newServiceWith(t, ServiceConfig{Bus: b, MaxUnpaid: 1})
	ctx := context.Background()
	open := mustPlace(t, svc, "cart-1", "u1", Line{"A", 1})
	refused, created, err := svc.Place(ctx, Placed{CartID: "cart-2", UserID: "u1", Lines: []Line{{"A", 2}}})
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, ReasonTooManyUnpaidOrders, refused.Rejection)
	require.NoError(t, svc.PublishOrderPlaced(ctx, open))
	require.NoError(t, svc.PublishOrderPlaced(ctx, refused))
	testkit.Eventually(t, 10*time.Second, func() bool { return len(placed.all()) == 2 }, "both published")
	byOrder := map[string]contract.OrderPlaced{}
	for _, d := range placed.all() {
		m := contracttest.Produced(t, d).(contract.OrderPlaced)
		byOrder[m.OrderID] = m
	}
	assert.Len(t, byOrder[open.ID].Articles, 1)
	assert.Equal(t, contract.OrderPlaced{OrderID: refused.ID, CartID: "cart-2", UserID: "u1", Articles: []contract.OrderLine{}}, byOrder[refused.ID])
}
