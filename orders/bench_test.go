package orders

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkPlace: one new order per op — the placed event appended at version 1 and the Order
// projection written (the user's list, insert, replace, a look for a next event).
func BenchmarkPlace(b *testing.B) {
	svc, _ := newService(b, nil)
	ctx := context.Background()
	lines := []Line{{"A", 1}, {"B", 2}, {"C", 3}}
	i := 0
	for b.Loop() {
		i++
		if _, _, err := svc.Place(ctx, Placed{CartID: fmt.Sprint("cart-", i), UserID: "u1", Lines: lines}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPayment: one payment appended per op to an order of ~5 to 25 events, projection
// updated. A new order is started every 20 payments so the event count stays realistic.
func BenchmarkPayment(b *testing.B) {
	svc, _ := newService(b, nil)
	ctx := context.Background()
	var o Order
	for i := 0; i < b.N; i++ {
		if i%20 == 0 {
			b.StopTimer()
			o = mustValidate(b, svc, mustPlace(b, svc, fmt.Sprint("cart-", i), "u1", Line{"A", 1}, Line{"B", 1}, Line{"C", 1}), 1_000_000)
			b.StartTimer()
		}
		if _, err := svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConcurrentPayments: payments from GOMAXPROCS goroutines on one order: the cost of
// losing the race for a version and retrying.
func BenchmarkConcurrentPayments(b *testing.B) {
	svc, _ := newService(b, nil)
	ctx := context.Background()
	o := mustValidate(b, svc, mustPlace(b, svc, "cart", "u1", Line{"A", 1}), 1_000_000_000)
	b.SetParallelism(1)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 1}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkFold: folding a 50-event order in memory (what every append and rebuild does).
func BenchmarkFold(b *testing.B) {
	events := history("o1")[:4]
	for v := 5; v <= 50; v++ {
		events = append(events, Event{OrderID: "o1", Version: v, Type: EventPaymentDefined, At: t0.Add(time.Duration(v) * time.Second),
			Payment: &Payment{Method: Cash, Amount: 1}})
	}
	for b.Loop() {
		_ = Fold(events)
	}
}
