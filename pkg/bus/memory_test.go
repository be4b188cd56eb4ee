package bus_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/bus/bustest"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
)

func TestMemory(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bus.Bus {
		b := bus.NewMemory(contract.Topology)
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}

func BenchmarkMemoryRoundTrip(b *testing.B) {
	for _, publishers := range []int{1, 8} {
		b.Run(fmt.Sprint("publishers=", publishers), func(b *testing.B) {
			m := bus.NewMemory(contract.Topology)
			defer m.Close()
			benchmarkRoundTrip(b, m, publishers)
		})
	}
}

// benchmarkRoundTrip publishes b.N messages to the `order` queue from concurrent publishers
// while one consumer (Prefetch 10) handles them, and reports the throughput of the whole trip.
func benchmarkRoundTrip(b *testing.B, bb bus.Bus, publishers int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	handled := make(chan struct{}, 1024)
	started := make(chan struct{})
	consumed := make(chan error, 1)
	go func() {
		consumed <- bb.Consume(ctx, bus.Subscription{Queue: "order", Prefetch: 10, OnStart: func() { close(started) }},
			func(context.Context, bus.Delivery) error {
				handled <- struct{}{}
				return nil
			})
	}()
	<-started
	msg := map[string]string{"orderId": "o-1", "cartId": "c-1"}

	b.ResetTimer()
	published := make(chan error, publishers)
	for p := range publishers {
		go func() {
			for i := p; i < b.N; i += publishers {
				if err := bus.Send(context.Background(), bb, "order", "order", "place_order", msg); err != nil {
					published <- fmt.Errorf("publish %d: %w", i, err)
					return
				}
			}
			published <- nil
		}()
	}
	for i, done := 0, 0; i < b.N || done < publishers; {
		select {
		case <-handled:
			i++
		case err := <-published:
			if err != nil {
				b.Fatal(err)
			}
			done++
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	cancel()
	if err := <-consumed; err != nil {
		b.Fatal(err)
	}
}
