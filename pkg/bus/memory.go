package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Memory is an in-process broker with the semantics of RabbitMQ for the topology it is given: exchanges route to queues by binding key, durable queues keep what is published
// before anyone consumes, competing consumers share a queue, failing messages are retried then
// dead-lettered. It serves the all-in-one launcher and tests. Messages travel as JSON bytes,
// as on the wire, so a message that would not survive RabbitMQ does not survive here either.
// Nothing is persisted: queued messages are lost when the process ends.
type Memory struct {
	topology  Topology
	mu        sync.Mutex
	exchanges map[string]*memExchange
	queues    map[string]*memQueue
	private   int // counter naming private queues

	closeOnce sync.Once
	closed    chan struct{}
}

type memExchange struct {
	kind     string
	bindings []memBinding
}

type memBinding struct {
	queue string
	key   string
}

type memQueue struct {
	name        string
	maxPriority uint8
	msgs        []memMessage // next to deliver first
	// wake is closed (and replaced) whenever a message is added, waking every waiting
	// consumer; those that find the queue empty again simply wait on the new channel.
	wake chan struct{}
}

type memMessage struct {
	body        []byte
	routingKey  string
	priority    uint8
	attempt     int
	redelivered bool
}

// NewMemory returns an in-process broker with the whole of topology declared.
func NewMemory(topology Topology) *Memory {
	m := &Memory{
		topology:  topology,
		exchanges: map[string]*memExchange{},
		queues:    map[string]*memQueue{},
		closed:    make(chan struct{}),
	}
	for _, e := range topology.Exchanges {
		m.exchanges[e.Name] = &memExchange{kind: e.Kind}
	}
	for _, q := range topology.Queues {
		m.addQueue(q.Name, q.MaxPriority)
		m.addQueue(DeadLetterQueue(q.Name), 0)
		ex := m.exchanges[q.Exchange]
		ex.bindings = append(ex.bindings, memBinding{queue: q.Name, key: q.Key})
	}
	return m
}

// addQueue creates an empty queue. Called with mu held (or before m is shared).
func (m *Memory) addQueue(name string, maxPriority uint8) *memQueue {
	q := &memQueue{name: name, maxPriority: maxPriority, wake: make(chan struct{})}
	m.queues[name] = q
	return q
}

// Publish routes msg to the queues bound to its exchange. Like RabbitMQ without the mandatory
// flag, a message no queue is bound for is dropped without error.
func (m *Memory) Publish(ctx context.Context, msg Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.isClosed() {
		return ErrClosed
	}
	if err := m.topology.checkExchange(msg.Exchange); err != nil {
		return err
	}
	body, err := json.Marshal(msg.Envelope)
	if err != nil {
		return fmt.Errorf("bus: encode envelope: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, q := range m.route(msg.Exchange, msg.RoutingKey) {
		q.push(memMessage{body: body, routingKey: msg.RoutingKey, priority: msg.Priority, attempt: 1})
	}
	return nil
}

// route returns the queues a message published to exchange with key goes to. The default
// exchange "" delivers straight to the queue named key, as in RabbitMQ. Called with mu held.
func (m *Memory) route(exchange, key string) []*memQueue {
	if exchange == "" {
		if q, ok := m.queues[key]; ok {
			return []*memQueue{q}
		}
		return nil
	}
	ex := m.exchanges[exchange]
	var out []*memQueue
	for _, b := range ex.bindings {
		if !bindingMatches(ex.kind, b.key, key) {
			continue
		}
		q := m.queues[b.queue]
		if !slices.Contains(out, q) { // a queue bound twice gets one copy
			out = append(out, q)
		}
	}
	return out
}

// bindingMatches tells whether a message with routing key is routed through a binding with
// bindingKey on an exchange of kind.
func bindingMatches(kind, bindingKey, key string) bool {
	switch kind {
	case Fanout:
		return true
	case Topic:
		return topicMatches(strings.Split(bindingKey, "."), strings.Split(key, "."))
	default:
		return bindingKey == key
	}
}

// topicMatches matches dot-separated words the way a topic exchange does: `*` stands for
// exactly one word, `#` for zero or more words.
func topicMatches(pattern, words []string) bool {
	if len(pattern) == 0 {
		return len(words) == 0
	}
	switch pattern[0] {
	case "#":
		// Let # swallow 0, 1, 2... words and try to match the rest.
		for i := 0; i <= len(words); i++ {
			if topicMatches(pattern[1:], words[i:]) {
				return true
			}
		}
		return false
	case "*":
		return len(words) > 0 && topicMatches(pattern[1:], words[1:])
	default:
		return len(words) > 0 && words[0] == pattern[0] && topicMatches(pattern[1:], words[1:])
	}
}

// push adds msg behind the messages of the same or higher priority (plain FIFO when the queue
// has no priorities). Called with mu held.
func (q *memQueue) push(msg memMessage) {
	msg.priority = min(msg.priority, q.maxPriority) // like RabbitMQ, above the maximum counts as the maximum
	i := len(q.msgs)
	for i > 0 && q.msgs[i-1].priority < msg.priority {
		i--
	}
	q.msgs = slices.Insert(q.msgs, i, msg)
	q.signal()
}

// pushFront gives msg back to the queue ahead of the messages of its priority, as RabbitMQ
// does with a message a consumer returns unprocessed. Called with mu held.
func (q *memQueue) pushFront(msg memMessage) {
	i := 0
	for i < len(q.msgs) && q.msgs[i].priority > msg.priority {
		i++
	}
	q.msgs = slices.Insert(q.msgs, i, msg)
	q.signal()
}

// signal wakes the consumers waiting for a message. Called with mu held.
func (q *memQueue) signal() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// Consume handles deliveries from s's queue (or a private queue bound for it) with
// s.Prefetch handlers running at once, until ctx is done or the broker is closed.
func (m *Memory) Consume(ctx context.Context, s Subscription, h Handler) error {
	if err := m.topology.checkSubscription(s); err != nil {
		return err
	}
	if m.isClosed() {
		return ErrClosed
	}
	q, release := m.subscribe(s)
	defer release()

	// Stop the workers when the broker is closed as well as when ctx is done.
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-m.closed:
			cancel()
		case <-ctx.Done():
		}
	}()

	if s.OnStart != nil {
		s.OnStart()
	}
	if s.OnStop != nil {
		defer s.OnStop()
	}
	var wg sync.WaitGroup
	for range max(s.Prefetch, 1) {
		wg.Go(func() {
			for {
				msg, ok := m.take(ctx, q)
				if !ok {
					return
				}
				m.deliver(ctx, q, msg, h, s)
			}
		})
	}
	wg.Wait()
	if parent.Err() == nil && m.isClosed() {
		return ErrClosed
	}
	return nil
}

// subscribe returns the queue s consumes and a function to call when the consumer stops.
// A subscription without a queue gets a private queue, bound for it and removed with it.
func (m *Memory) subscribe(s Subscription) (*memQueue, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.Queue != "" {
		return m.queues[s.Queue], func() {}
	}
	m.private++
	q := m.addQueue(fmt.Sprintf("amq.gen-%d", m.private), 0)
	ex := m.exchanges[s.Exchange]
	ex.bindings = append(ex.bindings, memBinding{queue: q.name, key: s.Key})
	return q, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.queues, q.name)
		ex.bindings = slices.DeleteFunc(ex.bindings, func(b memBinding) bool { return b.queue == q.name })
	}
}

// take removes and returns the next message of q, waiting for one until ctx is done.
func (m *Memory) take(ctx context.Context, q *memQueue) (memMessage, bool) {
	for {
		if ctx.Err() != nil { // stopping: leave the queue to other consumers
			return memMessage{}, false
		}
		m.mu.Lock()
		if len(q.msgs) > 0 {
			msg := q.msgs[0]
			q.msgs = slices.Delete(q.msgs, 0, 1)
			m.mu.Unlock()
			return msg, true
		}
		wake := q.wake
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return memMessage{}, false
		case <-wake:
		}
	}
}

// deliver runs h on msg and then acknowledges, requeues, retries or dead-letters it.
func (m *Memory) deliver(ctx context.Context, q *memQueue, msg memMessage, h Handler, s Subscription) {
	env, err := ParseEnvelope(msg.body)
	if err == nil {
		d := Delivery{
			Envelope:    env,
			Queue:       q.name,
			RoutingKey:  msg.routingKey,
			Redelivered: msg.redelivered,
			Attempt:     msg.attempt,
		}
		err = callHandler(handlerContext(ctx, env), s.Timeout, h, d)
	}
	switch decide(ctx, err, msg.attempt) {
	case ack:
	case requeue:
		m.requeue(q, msg)
	case retry:
		// Like the RabbitMQ implementation, the worker holds the message during the delay; if
		// the consumer stops meanwhile, the message goes back untouched.
		if !sleep(ctx, retryDelay(msg.attempt)) {
			m.requeue(q, msg)
			return
		}
		msg.attempt++
		msg.redelivered = false // a retry is a fresh copy, as in RabbitMQ
		m.mu.Lock()
		q.push(msg)
		m.mu.Unlock()
	case deadLetter:
		m.mu.Lock()
		defer m.mu.Unlock()
		if dlq, ok := m.topology.deadLetterFor(q.name); ok {
			m.queues[dlq].push(memMessage{body: msg.body, routingKey: msg.routingKey, attempt: 1})
			if s.OnDeadLetter != nil {
				s.OnDeadLetter(env.Type)
			}
		}
	}
}

// requeue gives msg back to q marked as redelivered. A private queue may already be gone, in
// which case its messages are lost, as in RabbitMQ.
func (m *Memory) requeue(q *memQueue, msg memMessage) {
	msg.redelivered = true
	m.mu.Lock()
	defer m.mu.Unlock()
	q.pushFront(msg)
}

// Ping reports whether the broker is open.
func (m *Memory) Ping(context.Context) error {
	if m.isClosed() {
		return ErrClosed
	}
	return nil
}

// Close stops every consumer (their Consume returns ErrClosed once in-flight handlers are
// done) and makes Publish fail. Queued messages are discarded.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() { close(m.closed) })
	return nil
}

func (m *Memory) isClosed() bool {
	select {
	case <-m.closed:
		return true
	default:
		return false
	}
}

var _ Bus = (*Memory)(nil)
