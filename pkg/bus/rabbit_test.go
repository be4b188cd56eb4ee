package bus_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/bus/bustest"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// dialTest connects to a fresh vhost of the machine's RabbitMQ, closed when the test ends.
func dialTest(t testing.TB) (*bus.Rabbit, string) {
	t.Helper()
	u := testkit.RabbitURL(t)
	return dial(t, u), u
}

// dial connects to the broker at u, closed when the test ends.
func dial(t testing.TB, u string) *bus.Rabbit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := bus.DialRabbit(ctx, u, contract.Topology, testkit.Logger(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestRabbit(t *testing.T) {
	// Making a vhost takes a while, so the subtests share one, and each starts by emptying its
	// queues. The previous subtest's bus is closed by then; private queues went with it.
	u := testkit.RabbitURL(t)
	bustest.Run(t, func(t *testing.T) bus.Bus {
		r := dial(t, u) // declares the topology, so every queue exists
		purgeQueues(t, u)
		return r
	})
}

// purgeQueues empties every queue of the topology, dead-letter queues included.
func purgeQueues(t *testing.T, u string) {
	t.Helper()
	conn, err := amqp.Dial(u)
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	for _, q := range contract.Topology.Queues {
		for _, name := range []string{q.Name, bus.DeadLetterQueue(q.Name)} {
			_, err := ch.QueuePurge(name, false)
			require.NoError(t, err)
		}
	}
}

// TestRabbitSurvivesConnectionLoss drops the bus's connection (only in the test's own vhost)
// several times while messages are published and consumed: every message whose Publish
// returned nil must be handled, and the consumer must come back each time.
func TestRabbitSurvivesConnectionLoss(t *testing.T) {
	r, u := dialTest(t)
	parsed, err := url.Parse(u)
	require.NoError(t, err)
	vhost := strings.TrimPrefix(parsed.Path, "/")

	var (
		mu      sync.Mutex
		handled = map[string]bool{}
		starts  atomic.Int32
		stops   atomic.Int32
	)
	ctx, cancel := context.WithCancel(context.Background())
	consumed := make(chan error, 1)
	go func() {
		sub := bus.Subscription{Queue: "catalog", Prefetch: 5,
			OnStart: func() { starts.Add(1) }, OnStop: func() { stops.Add(1) }}
		consumed <- r.Consume(ctx, sub,
			func(_ context.Context, d bus.Delivery) error {
				var id string
				if err := d.Decode(&id); err != nil {
					return err
				}
				mu.Lock()
				handled[id] = true
				mu.Unlock()
				return nil
			})
	}()
	testkit.Eventually(t, 15*time.Second, func() bool { return starts.Load() == 1 }, "consumer started")

	// Publish from a few goroutines, remembering what the broker confirmed.
	var (
		confirmed sync.Map
		failed    atomic.Int32
		stop      = make(chan struct{})
		wg        sync.WaitGroup
	)
	for p := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("p%d-%d", p, i)
				pctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				err := bus.Send(pctx, r, "catalog", "catalog", "job", id)
				cancel()
				if err != nil {
					failed.Add(1) // confirm lost with the connection: the caller would retry
					continue
				}
				confirmed.Store(id, true)
			}
		})
	}

	const drops = 3
	for drop := 1; drop <= drops; drop++ {
		time.Sleep(300 * time.Millisecond) // let traffic flow before cutting it
		closeConnections(t, vhost)
		testkit.Eventually(t, 20*time.Second, func() bool { return starts.Load() > int32(drop) },
			"consumer restarted after drop ", drop)
		assert.GreaterOrEqual(t, stops.Load(), int32(drop), "OnStop called when the connection dropped")
		assert.NoError(t, r.Ping(context.Background()))
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	var want []string
	confirmed.Range(func(k, _ any) bool {
		want = append(want, k.(string))
		return true
	})
	t.Logf("%d messages confirmed, %d publishes failed, consumer started %d times", len(want), failed.Load(), starts.Load())
	require.NotEmpty(t, want)
	testkit.Eventually(t, 20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range want {
			if !handled[id] {
				return false
			}
		}
		return true
	}, "every confirmed message handled")

	cancel()
	require.NoError(t, <-consumed)
}

// closeConnections makes the broker close every client connection of vhost (and of no other).
func closeConnections(t *testing.T, vhost string) {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", "-q", "close_all_connections",
		"--vhost", vhost, "--limit", "100", "bus connection-loss test").CombinedOutput()
	require.NoError(t, err, "%s", out)
}

func BenchmarkRabbitRoundTrip(b *testing.B) {
	r, _ := dialTest(b)
	for _, publishers := range []int{1, 8} {
		b.Run(fmt.Sprint("publishers=", publishers), func(b *testing.B) { benchmarkRoundTrip(b, r, publishers) })
	}
}

// TestRabbitDeadLettersUndecodableMessages checks that a body that is not an envelope (sent by
// some other client) goes to the dead-letter queue at once instead of looping, and is counted
// in the service's metrics although no handler ever saw it.
func TestRabbitDeadLettersUndecodableMessages(t *testing.T) {
	r, u := dialTest(t)
	conn, err := amqp.Dial(u)
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.PublishWithContext(context.Background(), "catalog", "catalog", false, false,
		amqp.Publishing{Body: []byte("not json")}))

	var calls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	consumed := make(chan error, 1)
	m := metrics.New("catalog")
	go func() {
		consumed <- bus.Instrument(r, m).Consume(ctx, bus.Subscription{Queue: "catalog"}, func(context.Context, bus.Delivery) error {
			calls.Add(1)
			return nil
		})
	}()
	var dead amqp.Delivery
	testkit.Eventually(t, 15*time.Second, func() bool {
		d, ok, err := ch.Get(bus.DeadLetterQueue("catalog"), true)
		require.NoError(t, err)
		dead = d
		return ok
	}, "message in catalog.dlq")
	assert.Equal(t, "not json", string(dead.Body))
	assert.Equal(t, "catalog", dead.Headers["x-dead-letter-queue"])
	assert.Contains(t, dead.Headers["x-dead-letter-reason"], "malformed envelope")
	assert.Zero(t, calls.Load(), "the handler never sees it")
	// The count goes up once the dead-lettering is confirmed, which may be just after the
	// message shows in the queue.
	testkit.Eventually(t, 15*time.Second, func() bool {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return strings.Contains(rec.Body.String(),
			`messages_dead_lettered_total{queue="catalog",service="catalog",type="(malformed)"} 1`)
	}, "the dead-lettered message counted")
	cancel()
	require.NoError(t, <-consumed)
}
