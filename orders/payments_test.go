package orders

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
)

// An order takes MaxPayments payments; the next one is 429 too_many_payments, records nothing,
// and leaves the owner's other orders payable.
func TestPaymentsPerOrderAPI(t *testing.T) {
	a := newAPI(t)
	o := mustValidate(t, a.svc, mustPlace(t, a.svc, "cart-1", "alice", Line{"A", 1}), 1_000_00)
	other := mustValidate(t, a.svc, mustPlace(t, a.svc, "cart-2", "alice", Line{"A", 1}), 1_000_00)
	pay := func(id string) (int, any) {
		return a.call(t, "POST", "/orders/"+id+"/payment", "ta", `{"method":"CASH","amount":1}`)
	}
	for i := range MaxPayments {
		status, body := pay(o.ID)
		require.Equal(t, http.StatusOK, status, "payment %d: %v", i+1, body)
	}
	status, body := pay(o.ID)
	require.Equal(t, http.StatusTooManyRequests, status, "payment %d: %v", MaxPayments+1, body)
	assert.Equal(t, "too_many_payments", field(body, "code"))
	assert.Contains(t, field(body, "error"), "10 payments")

	events := mustEvents(t, a.store, o.ID)
	assert.Len(t, events, 2+MaxPayments, "placed, the answer, the payments: the refused one stored nothing")
	status, body = a.call(t, "GET", "/orders/"+o.ID, "ta", "")
	require.Equal(t, http.StatusOK, status)
	assert.Len(t, field(body, "payments"), MaxPayments)
	assert.Equal(t, "validated", field(body, "status"))

	status, body = pay(other.ID)
	assert.Equal(t, http.StatusOK, status, "another order is not affected: %v", body)
}

// Payments racing on three instances: exactly MaxPayments are recorded, whoever wins.
func TestConcurrentPaymentsStopAtTheCap(t *testing.T) {
	instances, store := newInstances(t, 3)
	ctx := context.Background()
	o := mustValidate(t, instances[0], mustPlace(t, instances[0], "cart-1", "u1", Line{"A", 10}), 1_000_00)

	const payers = MaxPayments + 6
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range payers {
		wg.Go(func() {
			_, err := instances[i%3].Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: money.Cents(100 + i)})
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, errs.RateLimited):
				refused.Add(1)
				assert.Equal(t, errTooManyPayments, err)
			default:
				t.Errorf("payment %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	t.Logf("%d payments raced on three instances: %d accepted, %d refused", payers, accepted.Load(), refused.Load())
	assert.EqualValues(t, MaxPayments, accepted.Load())
	assert.EqualValues(t, payers-MaxPayments, refused.Load())
	got, err := instances[1].Get(ctx, o.ID)
	require.NoError(t, err)
	assert.Len(t, got.Payments, MaxPayments)
	assert.Len(t, mustEvents(t, store, o.ID), 2+MaxPayments, fmt.Sprint("events of ", o.ID))
}
