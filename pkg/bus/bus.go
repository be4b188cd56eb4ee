// Package bus is the messaging between services (SPEC §4): the envelope every message travels
// in, the topology of exchanges and queues it is given, and a small publish/consume API with two
// implementations that pass one conformance suite — RabbitMQ for deployments and an in-process
// broker for the all-in-one run.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/correlation"
)

// Envelope wraps every message. Exchange and Queue say where a reply must go (published to
// Exchange with Queue as routing key); they are empty when no reply is wanted.
type Envelope struct {
	Type          string          `json:"type"`
	Version       int             `json:"version"`
	CorrelationID string          `json:"correlation_id"`
	Exchange      string          `json:"exchange"`
	Queue         string          `json:"queue"`
	Message       json.RawMessage `json:"message"`
}

// Exchange kinds.
const (
	Fanout = "fanout"
	Direct = "direct"
	Topic  = "topic"
)

// Exchange is a named exchange of the topology.
type Exchange struct {
	Name string
	Kind string
}

// Queue is a durable queue of the topology, bound to Exchange with Key. MaxPriority > 0 makes it
// a priority queue. Every queue has a dead-letter queue named Name + ".dlq".
type Queue struct {
	Name        string
	Exchange    string
	Key         string
	MaxPriority uint8
}

// Topology is the set of exchanges and queues a bus declares on every (re)connect, so a message
// published before its consumer first starts is kept, not dropped. The shop's topology lives
// with its message contracts (pkg/contract); the bus knows none of its names.
type Topology struct {
	Exchanges []Exchange
	Queues    []Queue
}

// DeadLetterQueue names the queue where messages of queue that keep failing end up.
func DeadLetterQueue(queue string) string { return queue + ".dlq" }

// Message is one message to publish.
type Message struct {
	Exchange   string
	RoutingKey string
	Priority   uint8 // only for priority queues
	Envelope   Envelope
}

// Delivery is one message received from a queue.
type Delivery struct {
	Envelope
	Queue       string
	RoutingKey  string
	Redelivered bool // the broker delivered it before (the consumer may have died mid-work)
	Attempt     int  // 1 on the first try, counting retries after handler failures
}

// Decode unmarshals the delivery's message into v. A message that does not decode can never
// succeed, so the error is Permanent.
func (d Delivery) Decode(v any) error {
	if err := json.Unmarshal(d.Message, v); err != nil {
		return Permanent(fmt.Errorf("decode %s message: %w", d.Type, err))
	}
	return nil
}

// Handler handles one delivery. Returning nil acknowledges it; an error retries it a few times
// with a growing delay, then dead-letters it; a Permanent error dead-letters it at once.
// Handlers must be idempotent: a message can be delivered more than once.
type Handler func(ctx context.Context, d Delivery) error

// Subscription says what to consume. Queue names a queue of the topology. With Queue empty,
// the bus makes a private, non-durable queue for this consumer alone bound to Exchange with Key
// (the `auth` fanout: every running instance hears every logout).
type Subscription struct {
	Queue    string
	Exchange string
	Key      string
	Prefetch int // deliveries handled concurrently; 0 means 1
	// OnStart is called each time the consumer starts or restarts after a lost connection.
	// Broadcasts sent while it was away are lost, so a cache fed by them should be flushed here.
	OnStart func()
	// OnStop is called each time a started consumer stops: its channel or connection was lost
	// (it will restart) or Consume is returning. Until the next OnStart nothing is heard.
	OnStop func()
	// OnDeadLetter, when set, is called for each message moved to the queue's dead-letter
	// queue, with its type ("" when it was not even an envelope), so it can be counted.
	OnDeadLetter func(msgType string)
	// Timeout is each handler call's deadline; 0 means HandlerTimeout.
	Timeout time.Duration
}

// MaxAttempts is how many times a failing message is tried before it is dead-lettered.
const MaxAttempts = 5

// HandlerTimeout is how long one handler call may take by default. Past it the call's context
// ends, and the message is retried and then dead-lettered like any failure, so a store that
// stopped answering cannot hold a consumer, and the queue behind it, for good.
const HandlerTimeout = 30 * time.Second

// Publisher publishes messages. Publish returns once the broker has taken responsibility for
// the message (publisher confirm), or with an error.
type Publisher interface {
	Publish(ctx context.Context, m Message) error
}

// Bus publishes and consumes.
type Bus interface {
	Publisher
	// Consume handles deliveries of s until ctx is done, surviving broker restarts. It returns
	// nil after ctx is done and in-flight handlers have finished.
	Consume(ctx context.Context, s Subscription, h Handler) error
	// Ping reports whether the broker is reachable (for /readyz).
	Ping(ctx context.Context) error
	// Close shuts the bus down: Publish fails from then on and running consumers return ErrClosed.
	Close() error
}

// permanentError is the mark Permanent puts on an error.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying cannot fix: the message is dead-lettered at once.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent tells whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Option changes a message built by Send.
type Option func(*Message)

// ReplyTo asks the receiver to answer to exchange with queue as routing key.
func ReplyTo(exchange, queue string) Option {
	return func(m *Message) { m.Envelope.Exchange, m.Envelope.Queue = exchange, queue }
}

// WithPriority sets the message priority (priority queues only).
func WithPriority(p uint8) Option { return func(m *Message) { m.Priority = p } }

// Send wraps msg in an envelope of msgType, carrying the context's correlation id, and publishes
// it to exchange with routing key key.
func Send(ctx context.Context, p Publisher, exchange, key, msgType string, msg any, opts ...Option) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode %s message: %w", msgType, err)
	}
	_, id := correlation.Ensure(ctx)
	m := Message{Exchange: exchange, RoutingKey: key, Envelope: Envelope{
		Type: msgType, Version: 1, CorrelationID: id, Message: body,
	}}
	for _, opt := range opts {
		opt(&m)
	}
	if err := p.Publish(ctx, m); err != nil {
		return fmt.Errorf("publish %s to %s: %w", msgType, exchange, err)
	}
	return nil
}

// Reply answers d at the address it asked for; it does nothing when d wants no reply.
func Reply(ctx context.Context, p Publisher, d Delivery, msgType string, msg any) error {
	if d.Envelope.Exchange == "" {
		return nil
	}
	return Send(ctx, p, d.Envelope.Exchange, d.Envelope.Queue, msgType, msg)
}

// ParseEnvelope decodes a raw message body. Anything that is not an envelope with a type is
// Permanent: no retry will make it one.
func ParseEnvelope(body []byte) (Envelope, error) {
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return env, Permanent(fmt.Errorf("malformed envelope: %w", err))
	}
	if env.Type == "" {
		return env, Permanent(errors.New("envelope without type"))
	}
	return env, nil
}

// handlerContext is the context a handler runs in: the envelope's correlation id is carried
// into every log line and message the handler causes.
func handlerContext(ctx context.Context, env Envelope) context.Context {
	if env.CorrelationID == "" {
		return ctx
	}
	return correlation.With(ctx, env.CorrelationID)
}
