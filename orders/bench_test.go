package orders

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"
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

// BenchmarkPayment: one payment appended per op to an order of 5 to 14 events, projection
// updated. A new order is started every MaxPayments payments, the most an order takes.
func BenchmarkPayment(b *testing.B) {
	svc, _ := newService(b, nil)
	ctx := context.Background()
	var o Order
	for i := 0; i < b.N; i++ {
		if i%MaxPayments == 0 {
			b.StopTimer()
			o = mustValidate(b, svc, mustPlace(b, svc, fmt.Sprint("cart-", i), "u1", Line{"A", 1}, Line{"B", 1}, Line{"C", 1}), 1_000_000)
			b.StartTimer()
		}
		if _, err := svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConcurrentPayments: payments from GOMAXPROCS goroutines on one order at a time (the
// next one once an order has MaxPayments): the cost of losing the race for a version and
// retrying.
func BenchmarkConcurrentPayments(b *testing.B) {
	svc, _ := newService(b, nil)
	ctx := context.Background()
	orders := make([]Order, (b.N+MaxPayments-1)/MaxPayments)
	for i := range orders {
		orders[i] = mustValidate(b, svc, mustPlace(b, svc, fmt.Sprint("cart-", i), "u1", Line{"A", 1}), 1_000_000_000)
	}
	var paid atomic.Int64
	b.SetParallelism(1)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o := orders[(paid.Add(1)-1)/MaxPayments]
			if _, err := svc.Pay(ctx, owner("u1"), o.ID, Payment{Method: Cash, Amount: 1}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkFold: folding a 50-event order in memory (what every append and rebuild does).
func BenchmarkFold(b *testing.B) {
	events := history("o1")[:3]
	for v := 4; v <= 50; v++ {
		events = append(events, Event{OrderID: "o1", Version: v, Type: EventPaymentDefined, At: t0.Add(time.Duration(v) * time.Second),
			Payment: &Payment{Method: Cash, Amount: 1}})
	}
	for b.Loop() {
		_ = Fold(events)
	}
}

// BenchmarkStatusJobs: one op is one run of each status job, with one open (placed) order and
// history finished orders (paid, shown in Order_Status), stored directly as orders stores them.
// The time should not grow with history (on FerretDB/SQLite a filter other than an exact _id
// scans its collection). Run it on a SQLite-backed server to see what the embedded store does:
// go run ./cmd/mongowire -sqlite DIR.
func BenchmarkStatusJobs(b *testing.B) {
	for _, history := range []int{0, 10_000} {
		b.Run(fmt.Sprint("history=", history), func(b *testing.B) {
			svc, store := newService(b, nil)
			ctx := context.Background()
			now := svc.now()
			var orders, statuses, events []any
			for i := range history {
				id := fmt.Sprintf("%024x", 0xbe0000+i)
				o := Order{ID: id, UserID: "old", CartID: "old:" + id, Status: StatusPaymentDefined,
					Articles: []OrderArticle{{"A", 1, true, true, 100}}, Payments: []Payment{{Cash, 100}},
					TotalPrice: 100, TotalPayment: 100, Created: now, Updated: now, Version: 3}
				orders = append(orders, toOrderDoc(o))
				statuses = append(statuses, statusDoc{OrderStatus: statusOf(o), Version: 3})
				events = append(events, toEventDoc(Event{OrderID: id, Version: 1, Type: EventPlaced, At: now,
					Placed: &Placed{CartID: o.CartID, UserID: "old", Lines: []Line{{"A", 1}}}}))
			}
			for coll, docs := range map[*mongo.Collection][]any{store.orders: orders, store.statuses: statuses, store.events: events} {
				for start := 0; start < len(docs); start += 1000 {
					_, err := coll.InsertMany(ctx, docs[start:min(start+1000, len(docs))])
					require.NoError(b, err)
				}
			}
			mustPlace(b, svc, "open", "u1", Line{"A", 1})
			// The embedded server adds its _id expression index to new tables every 10 s
			// (README, "FerretDB on SQLite did not use its _id index"); until then every
			// lookup by _id reads the table. Measure after that.
			time.Sleep(10 * time.Second)
			for b.Loop() {
				for _, st := range []Status{StatusPlaced, StatusValidated, StatusInvalid, StatusPaymentDefined} {
					if err := svc.RunStatusJob(ctx, st, time.Hour); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
