package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// Headers the RabbitMQ implementation puts on messages it republishes.
const (
	headerAttempt    = "x-attempt"     // the attempt a retried copy is on (absent means 1)
	headerRoutingKey = "x-routing-key" // the routing key the message was first published with
	headerReason     = "x-dead-letter-reason"
	headerFromQueue  = "x-dead-letter-queue"
)

// dialTimeout bounds how long DialRabbit keeps trying to reach the broker at start-up.
const dialTimeout = 30 * time.Second

// PublishTimeout is the longest a Publish waits, for a reconnect and the broker's confirm.
const PublishTimeout = 10 * time.Second

// Rabbit is the RabbitMQ bus. It keeps one connection, re-dialed with backoff whenever it is
// lost, and declares the whole topology on every connect. Publishers share one confirm-mode
// channel; every consumer has its own channel.
type Rabbit struct {
	url      string
	topology Topology
	log      *slog.Logger

	mu      sync.Mutex
	session *session      // the live connection, nil while reconnecting
	up      chan struct{} // closed when session is set; replaced when it is lost
	closed  chan struct{} // closed by Close

	closeOnce sync.Once
	done      sync.WaitGroup // the reconnect loop
}

// session is one connection to the broker and the publishers' channel on it.
type session struct {
	conn *amqp.Connection

	mu  sync.Mutex
	pub *amqp.Channel // confirm mode; reopened if the broker closes it
}

// DialRabbit connects to the broker at url, trying for up to 30 seconds (or until ctx is
// done), declares topology, and keeps the connection up until Close.
func DialRabbit(ctx context.Context, url string, topology Topology, log *slog.Logger) (*Rabbit, error) {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	r := &Rabbit{url: url, topology: topology, log: log, up: make(chan struct{}), closed: make(chan struct{})}
	var lastErr error
	for wait := newBackoff(); ; {
		s, err := r.connect()
		if err == nil {
			r.setSession(s)
			break
		}
		lastErr = err
		var amqpErr *amqp.Error
		if errors.As(err, &amqpErr) && (amqpErr.Code == amqp.AccessRefused || amqpErr.Code == amqp.PreconditionFailed) {
			break // wrong credentials or a conflicting topology: waiting will not help
		}
		log.Warn("rabbitmq not reachable yet; retrying", "err", err)
		if !sleep(ctx, wait.wait()) {
			break
		}
	}
	if r.session == nil {
		return nil, fmt.Errorf("connect to rabbitmq: %w", lastErr)
	}
	r.done.Add(1)
	go r.keepConnected()
	return r, nil
}

// connect dials the broker and declares the topology.
func (r *Rabbit) connect() (*session, error) {
	conn, err := amqp.DialConfig(r.url, amqp.Config{
		Heartbeat: 10 * time.Second,
		Dial:      amqp.DefaultDial(5 * time.Second),
	})
	if err != nil {
		return nil, err
	}
	if err := declareTopology(conn, r.topology); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return &session{conn: conn}, nil
}

// declareTopology declares every exchange and queue of the topology, each queue with its
// dead-letter queue. Declaring is idempotent, so it is done on every connect: a broker that
// lost its definitions gets them back before anything is published.
func declareTopology(conn *amqp.Connection, topology Topology) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	for _, e := range topology.Exchanges {
		if err := ch.ExchangeDeclare(e.Name, e.Kind, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare exchange %s: %w", e.Name, err)
		}
	}
	for _, q := range topology.Queues {
		var args amqp.Table
		if q.MaxPriority > 0 {
			args = amqp.Table{"x-max-priority": int32(q.MaxPriority)}
		}
		if _, err := ch.QueueDeclare(q.Name, true, false, false, false, args); err != nil {
			return fmt.Errorf("declare queue %s: %w", q.Name, err)
		}
		if _, err := ch.QueueDeclare(DeadLetterQueue(q.Name), true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare queue %s: %w", DeadLetterQueue(q.Name), err)
		}
		if err := ch.QueueBind(q.Name, q.Key, q.Exchange, false, nil); err != nil {
			return fmt.Errorf("bind queue %s: %w", q.Name, err)
		}
	}
	return nil
}

// keepConnected waits for the connection to drop and dials again, with backoff, until Close.
func (r *Rabbit) keepConnected() {
	defer r.done.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-r.closed
		cancel()
	}()
	for {
		r.mu.Lock()
		s := r.session
		r.mu.Unlock()
		lost := s.conn.NotifyClose(make(chan *amqp.Error, 1))
		select {
		case <-ctx.Done():
			_ = s.conn.Close()
			return
		case err := <-lost:
			r.setSession(nil)
			r.log.Warn("rabbitmq connection lost; reconnecting", "err", err)
		}
		for wait := newBackoff(); ; {
			next, err := r.connect()
			if err == nil {
				r.setSession(next)
				r.log.Warn("rabbitmq reconnected")
				break
			}
			r.log.Warn("rabbitmq reconnect failed; retrying", "err", err)
			if !sleep(ctx, wait.wait()) {
				return
			}
		}
	}
}

// setSession makes s the live session (nil: none while reconnecting) and wakes those waiting.
func (r *Rabbit) setSession(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.session = s
	if s != nil {
		close(r.up)
	} else {
		r.up = make(chan struct{})
	}
}

// liveSession returns the connected session, waiting for a reconnect until ctx is done.
func (r *Rabbit) liveSession(ctx context.Context) (*session, error) {
	for {
		r.mu.Lock()
		s, up := r.session, r.up
		r.mu.Unlock()
		var retry <-chan time.Time
		switch {
		case r.isClosed():
			return nil, ErrClosed
		case s != nil && !s.conn.IsClosed():
			return s, nil
		case s != nil:
			// The connection just died and keepConnected has not noticed yet.
			up, retry = nil, time.After(20*time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.closed:
			return nil, ErrClosed
		case <-up:
		case <-retry:
		}
	}
}

// confirmChannel returns the publishers' channel, opening it if needed. amqp091 channels are
// safe for concurrent publishing, and each publish gets its own deferred confirmation, so
// concurrent publishers share it without further locking.
func (s *session) confirmChannel() (*amqp.Channel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub != nil && !s.pub.IsClosed() {
		return s.pub, nil
	}
	ch, err := s.conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, err
	}
	s.pub = ch
	return ch, nil
}

// Publish sends m as a persistent message and waits for the broker's confirm. While the
// connection is down it waits for the reconnect (until ctx is done). If the broker nacks the
// message or the connection drops before the confirm arrives, it returns an error: the message
// may or may not have been taken, and the caller may publish it again.
func (r *Rabbit) Publish(ctx context.Context, m Message) error {
	if err := r.topology.checkExchange(m.Exchange); err != nil {
		return err
	}
	// A publish waits for a lost connection to come back, but not for ever: a caller without a
	// deadline of its own (a request handler) gets errs.Unavailable after PublishTimeout.
	ctx, cancel := context.WithTimeout(ctx, PublishTimeout)
	defer cancel()
	body, err := json.Marshal(m.Envelope)
	if err != nil {
		return fmt.Errorf("bus: encode envelope: %w", err)
	}
	return r.publish(ctx, m.Exchange, m.RoutingKey, amqp.Publishing{
		ContentType:   "application/json",
		DeliveryMode:  amqp.Persistent,
		Priority:      m.Priority,
		CorrelationId: m.Envelope.CorrelationID,
		Type:          m.Envelope.Type,
		Timestamp:     time.Now(),
		Body:          body,
	})
}

// publish sends msg to exchange with routing key key on the live session and waits for the
// broker's confirm (Publish, and the consumers' retries and dead-lettering, use it).
func (r *Rabbit) publish(ctx context.Context, exchange, key string, msg amqp.Publishing) error {
	for {
		s, err := r.liveSession(ctx)
		if err != nil {
			return fmt.Errorf("%w: rabbitmq publish: %w", errs.Unavailable, err)
		}
		confirm, err := s.send(ctx, exchange, key, msg)
		if errors.Is(err, amqp.ErrClosed) {
			// Nothing was sent: the channel or connection closed under us. Try again on a
			// fresh one (liveSession waits for the reconnect).
			if !sleep(ctx, 20*time.Millisecond) {
				return fmt.Errorf("%w: rabbitmq publish: %w", errs.Unavailable, ctx.Err())
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("rabbitmq publish: %w", err)
		}
		acked, err := confirm.WaitContext(ctx)
		if err != nil {
			return fmt.Errorf("%w: rabbitmq publish: waiting for confirm: %w", errs.Unavailable, err)
		}
		if !acked {
			return errors.New("rabbitmq publish: not confirmed by the broker")
		}
		return nil
	}
}

// send publishes msg on the session's confirm channel and returns the confirmation to wait for.
func (s *session) send(ctx context.Context, exchange, key string, msg amqp.Publishing) (*amqp.DeferredConfirmation, error) {
	ch, err := s.confirmChannel()
	if err != nil {
		return nil, err
	}
	return ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, msg)
}

// Consume handles deliveries of s with manual acknowledgements, s.Prefetch at a time, until
// ctx is done. When the connection is lost it waits for the reconnect and starts again
// (calling s.OnStop, then s.OnStart again); deliveries in flight on the dead channel are left to the broker,
// which redelivers them.
func (r *Rabbit) Consume(ctx context.Context, s Subscription, h Handler) error {
	if err := r.topology.checkSubscription(s); err != nil {
		return err
	}
	wait := newBackoff()
	for {
		sess, err := r.liveSession(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err // ErrClosed
		}
		started, err := r.consumeOnce(ctx, sess, s, h)
		if ctx.Err() != nil {
			return nil
		}
		if r.isClosed() {
			return ErrClosed
		}
		if started {
			wait = newBackoff()
		}
		r.log.Warn("rabbitmq consumer stopped; restarting", "queue", s.Queue, "exchange", s.Exchange, "err", err)
		if !sleep(ctx, wait.wait()) {
			return nil
		}
	}
}

// consumeOnce consumes on one channel until ctx is done or the channel dies. It returns
// whether the consumer got started, and why it stopped.
func (r *Rabbit) consumeOnce(ctx context.Context, sess *session, s Subscription, h Handler) (bool, error) {
	ch, err := sess.conn.Channel()
	if err != nil {
		return false, err
	}
	// Closing the channel returns the deliveries not acknowledged to the queue. It runs after
	// the workers have finished, so in-flight handlers still get to ack.
	defer ch.Close()
	prefetch := max(s.Prefetch, 1)
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return false, err
	}
	queue := s.Queue
	if queue == "" {
		// A private queue: named by the server, deleted when this consumer goes away.
		q, err := ch.QueueDeclare("", false, true, true, false, nil)
		if err != nil {
			return false, err
		}
		if err := ch.QueueBind(q.Name, s.Key, s.Exchange, false, nil); err != nil {
			return false, err
		}
		queue = q.Name
	}
	deliveries, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		return false, err
	}
	if s.OnStart != nil {
		s.OnStart()
	}
	if s.OnStop != nil {
		defer s.OnStop()
	}
	var wg sync.WaitGroup
	for range prefetch {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case d, ok := <-deliveries:
					if !ok {
						return // channel or connection closed
					}
					r.deliver(ctx, ch, queue, d, h, s)
				}
			}
		})
	}
	wg.Wait()
	return true, errors.New("channel closed")
}

// deliver runs h on one delivery and then acknowledges, requeues, retries or dead-letters it
// (telling s.OnDeadLetter, when set).
func (r *Rabbit) deliver(ctx context.Context, ch *amqp.Channel, queue string, d amqp.Delivery, h Handler, s Subscription) {
	if ctx.Err() != nil { // picked up while stopping: leave it for the next consumer
		_ = d.Nack(false, true)
		return
	}
	attempt := headerInt(d.Headers, headerAttempt, 1)
	routingKey := headerString(d.Headers, headerRoutingKey, d.RoutingKey)
	env, err := ParseEnvelope(d.Body)
	if err == nil {
		err = callHandler(handlerContext(ctx, env), s.Timeout, h, Delivery{
			Envelope:    env,
			Queue:       queue,
			RoutingKey:  routingKey,
			Redelivered: d.Redelivered,
			Attempt:     attempt,
		})
	}
	// Acks on a channel that died meanwhile fail; the broker then redelivers, which is fine
	// because handlers are idempotent. So their errors are not checked.
	switch decide(ctx, err, attempt) {
	case ack:
		_ = d.Ack(false)
	case requeue:
		_ = d.Nack(false, true)
	case retry:
		// Classic queues have no delivery counter, so the count travels in a header of a
		// copy, published to the back of the same queue; only then is the original acked. If
		// anything fails on the way, the original stays unacked and comes back as it was.
		if !sleep(ctx, retryDelay(attempt)) || ch.IsClosed() {
			_ = d.Nack(false, true)
			return
		}
		headers := copyHeaders(d.Headers)
		headers[headerAttempt] = int32(attempt + 1)
		headers[headerRoutingKey] = routingKey
		if err := r.publish(ctx, "", queue, republishing(d, headers)); err != nil {
			_ = d.Nack(false, true)
			return
		}
		_ = d.Ack(false)
	case deadLetter:
		dlq, ok := r.topology.deadLetterFor(queue)
		if !ok {
			r.log.Error("message failed in a queue without dead-letter queue; dropped", "queue", queue, "type", env.Type, "err", err)
			_ = d.Ack(false)
			return
		}
		r.log.Warn("message dead-lettered", "queue", queue, "type", env.Type, "attempt", attempt, "err", err)
		headers := amqp.Table{headerRoutingKey: routingKey, headerReason: err.Error(), headerFromQueue: queue}
		if err := r.publish(ctx, "", dlq, republishing(d, headers)); err != nil {
			_ = d.Nack(false, true)
			return
		}
		_ = d.Ack(false)
		if s.OnDeadLetter != nil {
			s.OnDeadLetter(env.Type)
		}
	}
}

// republishing is a persistent copy of d with headers.
func republishing(d amqp.Delivery, headers amqp.Table) amqp.Publishing {
	return amqp.Publishing{
		Headers:       headers,
		ContentType:   d.ContentType,
		DeliveryMode:  amqp.Persistent,
		Priority:      d.Priority,
		CorrelationId: d.CorrelationId,
		Type:          d.Type,
		Timestamp:     d.Timestamp,
		Body:          d.Body,
	}
}

// copyHeaders returns a copy of h that can be written to, even when h is nil (maps.Clone
// would return nil then).
func copyHeaders(h amqp.Table) amqp.Table {
	out := amqp.Table{}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// headerInt reads an integer header, whatever integer type it arrived as.
func headerInt(h amqp.Table, key string, def int) int {
	switch v := h[key].(type) {
	case int8:
		return int(v)
	case int16:
		return int(v)
	case int32:
		return int(v)
	case int64:
		return int(v)
	case int:
		return v
	case uint8:
		return int(v)
	case uint16:
		return int(v)
	case uint32:
		return int(v)
	}
	return def
}

// headerString reads a string header, def when it is absent.
func headerString(h amqp.Table, key, def string) string {
	if v, ok := h[key].(string); ok {
		return v
	}
	return def
}

// Ping reports whether the connection to the broker is up.
func (r *Rabbit) Ping(context.Context) error {
	r.mu.Lock()
	s := r.session
	r.mu.Unlock()
	switch {
	case r.isClosed():
		return ErrClosed
	case s == nil || s.conn.IsClosed():
		return errors.New("rabbitmq: not connected")
	}
	return nil
}

// Close closes the connection and stops reconnecting. Consumers still running return
// ErrClosed; their unacknowledged deliveries go back to their queues.
func (r *Rabbit) Close() error {
	r.closeOnce.Do(func() { close(r.closed) })
	r.done.Wait()
	return nil
}

func (r *Rabbit) isClosed() bool {
	select {
	case <-r.closed:
		return true
	default:
		return false
	}
}

var _ Bus = (*Rabbit)(nil)
