// Package bustest is the conformance suite every bus.Bus implementation must pass, so the
// in-process broker and RabbitMQ behave alike for the services.
package bustest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/correlation"
)

// wait bounds every wait for a delivery. It is a failure deadline, not a timing assertion:
// a healthy bus delivers in milliseconds.
const wait = 15 * time.Second

// Run runs the suite. newBus must return a fresh bus, with empty queues, closed when the test
// ends.
func Run(t *testing.T, newBus func(t *testing.T) bus.Bus) {
	tests := []struct {
		name string
		test func(t *testing.T, b bus.Bus)
	}{
		{"FanoutReachesEveryPrivateQueue", testFanout},
		{"DirectRoutesByKey", testDirect},
		{"TopicWildcards", testTopic},
		{"SellFlowReachesBothQueues", testSellFlow},
		{"RequestReply", testRequestReply},
		{"KeepsMessagesPublishedBeforeConsumer", testKeepsEarlyMessages},
		{"CompetingConsumersShare", testCompetingConsumers},
		{"PrefetchRunsHandlersConcurrently", testPrefetch},
		{"RetriesThenSucceeds", testRetrySucceeds},
		{"RetriesThenDeadLetters", testDeadLetter},
		{"PermanentErrorDeadLettersAtOnce", testPermanent},
		{"StuckHandlerTimesOutThenDeadLetters", testStuckHandler},
		{"PriorityOrder", testPriority},
		{"CorrelationIDInHandlerContext", testCorrelation},
		{"InterruptedHandlerIsRedelivered", testInterrupted},
		{"UnknownQueueOrExchangeIsAnError", testUnknown},
		{"PingAndClose", testPingClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, newBus(t)) })
	}
}

// received is one delivery as a handler saw it.
type received struct {
	bus.Delivery
	Text          string // the message, decoded as a string
	ContextCorrID string // correlation id found in the handler's context
}

// recorder is a handler that passes every delivery to a channel.
type recorder struct{ ch chan received }

func newRecorder() *recorder { return &recorder{ch: make(chan received, 1000)} }

func (r *recorder) handle(ctx context.Context, d bus.Delivery) error {
	var text string
	if err := d.Decode(&text); err != nil {
		return err
	}
	r.ch <- received{Delivery: d, Text: text, ContextCorrID: correlation.ID(ctx)}
	return nil
}

// next returns the next n deliveries, failing the test if they do not come.
func (r *recorder) next(t *testing.T, n int) []received {
	t.Helper()
	out := make([]received, 0, n)
	deadline := time.After(wait)
	for len(out) < n {
		select {
		case d := <-r.ch:
			out = append(out, d)
		case <-deadline:
			t.Fatalf("got %d deliveries, want %d: %v", len(out), n, texts(out))
		}
	}
	return out
}

// until returns the deliveries up to and including the one with text last.
func (r *recorder) until(t *testing.T, last string) []string {
	t.Helper()
	var out []string
	deadline := time.After(wait)
	for {
		select {
		case d := <-r.ch:
			out = append(out, d.Text)
			if d.Text == last {
				return out
			}
		case <-deadline:
			t.Fatalf("%q never came; got %v", last, out)
		}
	}
}

func texts(ds []received) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Text
	}
	return out
}

// consume starts a consumer and returns once it has started (OnStart called). When the test
// ends it is stopped, and Consume must return nil.
func consume(t *testing.T, b bus.Bus, s bus.Subscription, h bus.Handler) {
	t.Helper()
	stop := startConsumer(t, b, s, h)
	t.Cleanup(func() { require.NoError(t, stop()) })
}

// startConsumer starts a consumer, waits until it has started and returns a function that
// stops it and returns what Consume returned.
func startConsumer(t *testing.T, b bus.Bus, s bus.Subscription, h bus.Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 100)
	onStart := s.OnStart
	s.OnStart = func() {
		if onStart != nil {
			onStart()
		}
		started <- struct{}{}
	}
	done := make(chan error, 1)
	go func() { done <- b.Consume(ctx, s, h) }()
	select {
	case <-started:
	case err := <-done:
		cancel()
		t.Fatalf("Consume returned before starting: %v", err)
	case <-time.After(wait):
		cancel()
		t.Fatal("consumer did not start")
	}
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(wait):
			return errors.New("Consume did not return after its context was done")
		}
	}
}

func send(t *testing.T, b bus.Bus, exchange, key, text string, opts ...bus.Option) {
	t.Helper()
	require.NoError(t, bus.Send(context.Background(), b, exchange, key, "text", text, opts...))
}

func testFanout(t *testing.T, b bus.Bus) {
	recs := []*recorder{newRecorder(), newRecorder(), newRecorder()}
	for _, r := range recs {
		consume(t, b, bus.Subscription{Exchange: "auth"}, r.handle)
	}
	send(t, b, "auth", "", "token-1")
	send(t, b, "auth", "", "token-2")
	for _, r := range recs {
		// Exactly these two, in order: a duplicate of the first would come before the second.
		got := r.next(t, 2)
		assert.Equal(t, []string{"token-1", "token-2"}, texts(got))
		assert.Equal(t, "text", got[0].Type)
		assert.Equal(t, 1, got[0].Attempt)
		assert.False(t, got[0].Redelivered)
	}
}

func testDirect(t *testing.T, b bus.Bus) {
	cart, order := newRecorder(), newRecorder()
	consume(t, b, bus.Subscription{Queue: "cart"}, cart.handle)
	consume(t, b, bus.Subscription{Queue: "order"}, order.handle)

	send(t, b, "cart", "order", "nowhere") // no binding for this key on `cart`: dropped
	send(t, b, "cart", "cart", "to-cart")
	send(t, b, "order", "order", "to-order")
	send(t, b, "cart", "cart", "end")
	send(t, b, "order", "order", "end")

	assert.Equal(t, []string{"to-cart", "end"}, cart.until(t, "end"))
	got := order.until(t, "end")
	assert.Equal(t, []string{"to-order", "end"}, got)
}

func testTopic(t *testing.T, b bus.Bus) {
	patterns := map[string][]string{
		"order.*":  {"order.placed", "end.order"},
		"order.#":  {"order.placed", "order.placed.eu", "order", "end.order"},
		"*.placed": {"order.placed", "cart.placed", "end.order"},
		"#":        {"order.placed", "order.placed.eu", "order", "cart.placed", "x.y.z", "end.order"},
	}
	recs := map[string]*recorder{}
	for pattern := range patterns {
		recs[pattern] = newRecorder()
		consume(t, b, bus.Subscription{Exchange: "sell_flow", Key: pattern}, recs[pattern].handle)
	}
	for _, key := range []string{"order.placed", "order.placed.eu", "order", "cart.placed", "x.y.z"} {
		send(t, b, "sell_flow", key, key)
	}
	// A last message every pattern matches, published with an explicit key; the text tells
	// the consumers where the list ends.
	send(t, b, "sell_flow", "order.placed", "end.order")
	for pattern, want := range patterns {
		assert.Equal(t, want, recs[pattern].until(t, "end.order"), "binding %q", pattern)
	}
}

func testSellFlow(t *testing.T, b bus.Bus) {
	catalog, cart := newRecorder(), newRecorder()
	consume(t, b, bus.Subscription{Queue: "catalog_order_placed"}, catalog.handle)
	consume(t, b, bus.Subscription{Queue: "cart_order_placed"}, cart.handle)
	send(t, b, "sell_flow", "order_placed", "order-1")
	for _, r := range []*recorder{catalog, cart} {
		got := r.next(t, 1)[0]
		assert.Equal(t, "order-1", got.Text)
		assert.Equal(t, "order_placed", got.RoutingKey)
	}
}

func testRequestReply(t *testing.T, b bus.Bus) {
	// catalog answers article-data requests where they ask.
	consume(t, b, bus.Subscription{Queue: "catalog"}, func(ctx context.Context, d bus.Delivery) error {
		var req struct{ ArticleID string }
		if err := d.Decode(&req); err != nil {
			return err
		}
		return bus.Reply(ctx, b, d, "article-data", map[string]any{"ArticleID": req.ArticleID, "Valid": true})
	})
	replies := make(chan bus.Delivery, 1)
	consume(t, b, bus.Subscription{Queue: "cart"}, func(_ context.Context, d bus.Delivery) error {
		replies <- d
		return nil
	})

	ctx := correlation.With(context.Background(), "corr-reply")
	require.NoError(t, bus.Send(ctx, b, "catalog", "catalog", "article-data",
		map[string]string{"ArticleID": "a1"}, bus.ReplyTo("cart", "cart")))

	select {
	case d := <-replies:
		assert.Equal(t, "article-data", d.Type)
		assert.Equal(t, "corr-reply", d.CorrelationID, "the reply carries the request's correlation id")
		assert.Empty(t, d.Envelope.Exchange, "a reply asks for no reply")
		var reply struct {
			ArticleID string
			Valid     bool
		}
		require.NoError(t, d.Decode(&reply))
		assert.Equal(t, "a1", reply.ArticleID)
		assert.True(t, reply.Valid)
	case <-time.After(wait):
		t.Fatal("no reply")
	}
}

func testKeepsEarlyMessages(t *testing.T, b bus.Bus) {
	for i := range 3 {
		send(t, b, "order", "order", fmt.Sprint("early-", i))
	}
	r := newRecorder()
	consume(t, b, bus.Subscription{Queue: "order"}, r.handle)
	assert.Equal(t, []string{"early-0", "early-1", "early-2"}, texts(r.next(t, 3)))
}

func testCompetingConsumers(t *testing.T, b bus.Bus) {
	const n = 20
	var (
		mu   sync.Mutex
		seen = map[string]int{} // text → times handled
		by   = [2]map[string]bool{{}, {}}
	)
	// Each consumer holds its first message until the other has one too, so both must get a
	// share whatever the broker's dispatch order (each takes one message at a time).
	var firsts sync.WaitGroup
	firsts.Add(2)
	for i := range 2 {
		var once sync.Once
		consume(t, b, bus.Subscription{Queue: "catalog", Prefetch: 1}, func(_ context.Context, d bus.Delivery) error {
			var text string
			if err := d.Decode(&text); err != nil {
				return err
			}
			mu.Lock()
			seen[text]++
			by[i][text] = true
			mu.Unlock()
			once.Do(func() {
				firsts.Done()
				waitGroup(t, &firsts)
			})
			return nil
		})
	}
	for i := range n {
		send(t, b, "catalog", "catalog", fmt.Sprint("job-", i))
	}
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == n
	})
	mu.Lock()
	defer mu.Unlock()
	for text, count := range seen {
		assert.Equal(t, 1, count, "%s handled more than once", text)
	}
	assert.NotEmpty(t, by[0], "first consumer got no share")
	assert.NotEmpty(t, by[1], "second consumer got no share")
}

// waitGroup waits for wg, failing the test after a while instead of hanging.
func waitGroup(t *testing.T, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Error("waited too long for other handlers")
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testPrefetch(t *testing.T, b bus.Bus) {
	// Every handler waits until three run at once: this only finishes if Prefetch 3 means
	// three concurrent handlers.
	var inFlight sync.WaitGroup
	inFlight.Add(3)
	var handled atomic.Int32
	consume(t, b, bus.Subscription{Queue: "order", Prefetch: 3}, func(context.Context, bus.Delivery) error {
		inFlight.Done()
		waitGroup(t, &inFlight)
		handled.Add(1)
		return nil
	})
	for i := range 3 {
		send(t, b, "order", "order", fmt.Sprint(i))
	}
	eventually(t, func() bool { return handled.Load() == 3 })
}

func testRetrySucceeds(t *testing.T, b bus.Bus) {
	r := newRecorder()
	var calls atomic.Int32
	consume(t, b, bus.Subscription{Queue: "cart"}, func(ctx context.Context, d bus.Delivery) error {
		if calls.Add(1) == 1 {
			return errors.New("store unavailable")
		}
		return r.handle(ctx, d)
	})
	ctx := correlation.With(context.Background(), "corr-retry")
	require.NoError(t, bus.Send(ctx, b, "cart", "cart", "text", "flaky"))
	got := r.next(t, 1)[0]
	assert.Equal(t, "flaky", got.Text)
	assert.Equal(t, 2, got.Attempt)
	assert.Equal(t, "cart", got.RoutingKey, "a retry keeps the original routing key")
	assert.Equal(t, "corr-retry", got.CorrelationID)
}

func testDeadLetter(t *testing.T, b bus.Bus) {
	attempts := make(chan int, 100)
	deadTypes := make(chan string, 10)
	onDeadLetter := func(msgType string) { deadTypes <- msgType }
	consume(t, b, bus.Subscription{Queue: "order", OnDeadLetter: onDeadLetter}, func(_ context.Context, d bus.Delivery) error {
		attempts <- d.Attempt
		return errors.New("always failing")
	})
	send(t, b, "order", "order", "doomed")

	dead := newRecorder()
	consume(t, b, bus.Subscription{Queue: bus.DeadLetterQueue("order")}, dead.handle)
	got := dead.next(t, 1)[0]
	assert.Equal(t, "doomed", got.Text)
	assert.Equal(t, "text", got.Type)
	assert.Equal(t, "order.dlq", got.Queue)

	// Everything was tried before the message was dead-lettered, so all attempts are in.
	close(attempts)
	var seen []int
	for a := range attempts {
		seen = append(seen, a)
	}
	assert.Equal(t, []int{1, 2, 3, 4, 5}, seen)
	select {
	case msgType := <-deadTypes:
		assert.Equal(t, "text", msgType, "OnDeadLetter is told, for metrics")
	case <-time.After(wait):
		t.Fatal("OnDeadLetter not called")
	}
}

// A handler that never returns by itself (a store that stopped answering) is given up on at its
// deadline, retried, then dead-lettered: the queue behind it keeps moving.
func testStuckHandler(t *testing.T, b bus.Bus) {
	attempts := make(chan int, 100)
	handled := newRecorder()
	consume(t, b, bus.Subscription{Queue: "order", Timeout: 20 * time.Millisecond}, func(ctx context.Context, d bus.Delivery) error {
		var text string
		if err := d.Decode(&text); err != nil || text != "stuck" {
			return handled.handle(ctx, d)
		}
		attempts <- d.Attempt
		<-ctx.Done()
		return ctx.Err()
	})
	send(t, b, "order", "order", "stuck")
	send(t, b, "order", "order", "next")
	assert.Equal(t, "next", handled.next(t, 1)[0].Text, "the message after a stuck one is handled")

	dead := newRecorder()
	consume(t, b, bus.Subscription{Queue: bus.DeadLetterQueue("order")}, dead.handle)
	assert.Equal(t, "stuck", dead.next(t, 1)[0].Text)
	close(attempts)
	var seen []int
	for a := range attempts {
		seen = append(seen, a)
	}
	assert.Equal(t, []int{1, 2, 3, 4, 5}, seen)
}

func testPermanent(t *testing.T, b bus.Bus) {
	var calls atomic.Int32
	var attempt atomic.Int32
	consume(t, b, bus.Subscription{Queue: "catalog"}, func(_ context.Context, d bus.Delivery) error {
		calls.Add(1)
		attempt.Store(int32(d.Attempt))
		return bus.Permanent(errors.New("article id is not valid"))
	})
	send(t, b, "catalog", "catalog", "bad")

	dead := newRecorder()
	consume(t, b, bus.Subscription{Queue: bus.DeadLetterQueue("catalog")}, dead.handle)
	assert.Equal(t, "bad", dead.next(t, 1)[0].Text)
	assert.Equal(t, int32(1), calls.Load(), "a Permanent error is not retried")
	assert.Equal(t, int32(1), attempt.Load())
}

func testPriority(t *testing.T, b bus.Bus) {
	for _, p := range []uint8{1, 5, 9, 3, 0, 5} {
		send(t, b, "order_status_jobs", "order_status_jobs", fmt.Sprint(p), bus.WithPriority(p))
	}
	r := newRecorder()
	consume(t, b, bus.Subscription{Queue: "order_status_jobs", Prefetch: 1}, r.handle)
	assert.Equal(t, []string{"9", "5", "5", "3", "1", "0"}, texts(r.next(t, 6)))
}

func testCorrelation(t *testing.T, b bus.Bus) {
	r := newRecorder()
	consume(t, b, bus.Subscription{Queue: "cart"}, r.handle)
	ctx := correlation.With(context.Background(), "corr-123")
	require.NoError(t, bus.Send(ctx, b, "cart", "cart", "text", "hello"))
	got := r.next(t, 1)[0]
	assert.Equal(t, "corr-123", got.CorrelationID)
	assert.Equal(t, "corr-123", got.ContextCorrID)

	// Without one in the context, Send makes one up, and it still reaches the handler.
	send(t, b, "cart", "cart", "fresh")
	got = r.next(t, 1)[0]
	assert.NotEmpty(t, got.CorrelationID)
	assert.Equal(t, got.CorrelationID, got.ContextCorrID)
}

func testInterrupted(t *testing.T, b bus.Bus) {
	var starts, stops atomic.Int32
	inHandler := make(chan struct{})
	var once sync.Once
	var handlerDone atomic.Bool
	sub := bus.Subscription{Queue: "order", OnStart: func() { starts.Add(1) }, OnStop: func() { stops.Add(1) }}
	stop := startConsumer(t, b, sub,
		func(ctx context.Context, d bus.Delivery) error {
			once.Do(func() { close(inHandler) })
			<-ctx.Done() // a long job, interrupted by the shutdown
			time.Sleep(20 * time.Millisecond)
			handlerDone.Store(true)
			return ctx.Err()
		})
	assert.Equal(t, int32(1), starts.Load(), "OnStart called once at start")
	assert.Equal(t, int32(0), stops.Load(), "OnStop not called while consuming")
	send(t, b, "order", "order", "long job")
	select {
	case <-inHandler:
	case <-time.After(wait):
		t.Fatal("handler not called")
	}
	require.NoError(t, stop())
	assert.True(t, handlerDone.Load(), "Consume returned before its handler finished")
	assert.Equal(t, int32(1), stops.Load(), "OnStop called once the consumer stopped")

	r := newRecorder()
	consume(t, b, bus.Subscription{Queue: "order"}, r.handle)
	got := r.next(t, 1)[0]
	assert.Equal(t, "long job", got.Text)
	assert.True(t, got.Redelivered)
	assert.Equal(t, 1, got.Attempt, "an interrupted handler is not a failed attempt")
}

func testUnknown(t *testing.T, b bus.Bus) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	h := func(context.Context, bus.Delivery) error { return nil }
	assert.Error(t, b.Consume(ctx, bus.Subscription{Queue: "no-such-queue"}, h))
	assert.Error(t, b.Consume(ctx, bus.Subscription{Exchange: "no-such-exchange"}, h))
	assert.Error(t, b.Consume(ctx, bus.Subscription{}, h))
	assert.Error(t, bus.Send(ctx, b, "no-such-exchange", "x", "text", "lost"))
	// The bus still works afterwards.
	r := newRecorder()
	consume(t, b, bus.Subscription{Queue: "cart"}, r.handle)
	send(t, b, "cart", "cart", "still fine")
	assert.Equal(t, "still fine", r.next(t, 1)[0].Text)
}

func testPingClose(t *testing.T, b bus.Bus) {
	ctx := context.Background()
	require.NoError(t, b.Ping(ctx))
	started := make(chan struct{})
	consumed := make(chan error, 1)
	go func() {
		s := bus.Subscription{Queue: "cart", OnStart: func() { close(started) }}
		consumed <- b.Consume(ctx, s, func(context.Context, bus.Delivery) error { return nil })
	}()
	select {
	case <-started:
	case err := <-consumed:
		t.Fatalf("Consume returned before starting: %v", err)
	case <-time.After(wait):
		t.Fatal("consumer did not start")
	}

	require.NoError(t, b.Close())
	assert.Error(t, b.Ping(ctx))
	assert.Error(t, bus.Send(ctx, b, "cart", "cart", "text", "after close"))
	select {
	case err := <-consumed:
		assert.ErrorIs(t, err, bus.ErrClosed, "Consume ends when its bus is closed")
	case <-time.After(wait):
		t.Fatal("Consume still running after Close")
	}
	require.NoError(t, b.Close(), "Close twice is harmless")
}
