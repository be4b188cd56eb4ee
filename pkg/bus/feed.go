package bus

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Feed broadcasts the changes a service instance stores to the read models of every instance
// (a fanout exchange), best effort and off the request path: Add never blocks, and a change that
// cannot be queued or published is only logged. Readers must therefore bound their staleness
// some other way (a reload or an expiry), and say so.
type Feed struct {
	log      *slog.Logger
	pub      Publisher
	exchange string
	msgType  string
	pending  chan any
}

// feedBuffer bounds the changes waiting to be published.
const feedBuffer = 4096

// NewFeed returns a feed publishing messages of msgType to exchange; Run publishes them.
func NewFeed(log *slog.Logger, pub Publisher, exchange, msgType string) *Feed {
	return &Feed{log: log, pub: pub, exchange: exchange, msgType: msgType, pending: make(chan any, feedBuffer)}
}

// Add queues msg for publishing, in order.
func (f *Feed) Add(msg any) {
	select {
	case f.pending <- msg:
	default:
		f.log.Warn("change not broadcast: too many waiting", "exchange", f.exchange)
	}
}

// Run publishes queued messages until ctx is done.
func (f *Feed) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg := <-f.pending:
			sendCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := Send(sendCtx, f.pub, f.exchange, "", f.msgType, msg)
			cancel()
			if err != nil && ctx.Err() == nil {
				f.log.Warn("change not broadcast", "exchange", f.exchange, "err", err)
			}
		}
	}
}

// Receive returns the handler of a feed's broadcasts of msgType: each message is decoded into a T
// and given to apply. A message of another type is refused for good.
func Receive[T any](msgType string, apply func(T) error) Handler {
	return func(_ context.Context, d Delivery) error {
		if d.Type != msgType {
			return Permanent(fmt.Errorf("%s broadcasts: unexpected message type %q", msgType, d.Type))
		}
		var msg T
		if err := d.Decode(&msg); err != nil {
			return err
		}
		return apply(msg)
	}
}
