package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// What both implementations share: checking a subscription against the topology, and deciding
// what becomes of a delivery once its handler has returned.

// ErrClosed is returned by a bus that has been closed.
var ErrClosed = errors.New("bus: closed")

// checkExchange rejects publishing to an exchange the topology does not have. RabbitMQ would
// close the channel over it; failing early gives the caller a clear error instead.
func (t Topology) checkExchange(name string) error {
	if name == "" || slices.ContainsFunc(t.Exchanges, func(e Exchange) bool { return e.Name == name }) {
		return nil
	}
	return fmt.Errorf("bus: unknown exchange %q", name)
}

// checkSubscription rejects a subscription to a queue or exchange the topology does not have,
// so Consume fails at once instead of retrying forever.
func (t Topology) checkSubscription(s Subscription) error {
	if s.Queue == "" {
		if s.Exchange == "" {
			return errors.New("bus: subscription needs a queue or an exchange")
		}
		return t.checkExchange(s.Exchange)
	}
	for _, q := range t.Queues {
		if s.Queue == q.Name || s.Queue == DeadLetterQueue(q.Name) {
			return nil
		}
	}
	return fmt.Errorf("bus: unknown queue %q", s.Queue)
}

// deadLetterFor returns the dead-letter queue of queue. Only the queues of the topology have
// one: a message failing in a private queue or in a dead-letter queue itself is dropped.
func (t Topology) deadLetterFor(queue string) (string, bool) {
	for _, q := range t.Queues {
		if q.Name == queue {
			return DeadLetterQueue(queue), true
		}
	}
	return "", false
}

// outcome is what becomes of a delivery after its handler returned.
type outcome int

const (
	ack        outcome = iota // done: remove it from the queue
	requeue                   // the consumer is stopping: give it back to the queue as it was
	retry                     // try again later, as attempt+1
	deadLetter                // give up: move it to the dead-letter queue
)

// decide maps a handler's result to an outcome. ctx is the consumer's context: a handler that
// failed while the consumer was stopping was most likely interrupted, so the message goes back
// to the queue untouched rather than counting as a failed attempt.
func decide(ctx context.Context, err error, attempt int) outcome {
	switch {
	case err == nil:
		return ack
	case IsPermanent(err):
		return deadLetter
	case ctx.Err() != nil:
		return requeue
	case attempt < MaxAttempts:
		return retry
	default:
		return deadLetter
	}
}

// retryDelay is how long to wait before retrying a message that failed attempt times: short,
// and growing so that a struggling dependency gets some air (20ms, 40ms, 80ms, 160ms).
func retryDelay(attempt int) time.Duration {
	return 20 * time.Millisecond << min(attempt-1, 6)
}

// callHandler runs h within timeout (HandlerTimeout when 0), turning a panic into an error so
// that one bad message cannot take the whole service down; it is retried and dead-lettered like
// any failure, as is a call that ran out of time.
func callHandler(ctx context.Context, timeout time.Duration, h Handler, d Delivery) (err error) {
	if timeout <= 0 {
		timeout = HandlerTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	err = h(ctx, d)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("handler ran past its deadline (%s): %w", timeout, err)
	}
	return err
}

// sleep waits for d or until ctx is done, and tells whether the whole delay passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// backoff is a growing delay between reconnection attempts.
type backoff struct {
	next, max time.Duration
}

func newBackoff() *backoff { return &backoff{next: 100 * time.Millisecond, max: 5 * time.Second} }

// wait returns the delay to wait now and doubles the next one, up to max.
func (b *backoff) wait() time.Duration {
	d := b.next
	b.next = min(2*b.next, b.max)
	return d
}
