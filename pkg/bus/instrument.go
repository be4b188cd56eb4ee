package bus

import (
	"context"

	"github.com/ecommerce-go/ecommerce/pkg/metrics"
)

// Instrument returns b counting, in m, the messages published, consumed and failed.
func Instrument(b Bus, m *metrics.Metrics) Bus { return instrumented{Bus: b, m: m} }

type instrumented struct {
	Bus
	m *metrics.Metrics
}

func (i instrumented) Publish(ctx context.Context, msg Message) error {
	if err := i.Bus.Publish(ctx, msg); err != nil {
		return err
	}
	i.m.Published(msg.Exchange, msg.Envelope.Type)
	return nil
}

func (i instrumented) Consume(ctx context.Context, s Subscription, h Handler) error {
	// A private queue has a name made up by the broker; label it by its exchange so the
	// metric keeps a small, stable set of labels.
	queue := s.Queue
	if queue == "" {
		queue = s.Exchange + " (private)"
	}
	onDeadLetter := s.OnDeadLetter
	s.OnDeadLetter = func(msgType string) {
		i.m.DeadLettered(queue, msgType)
		if onDeadLetter != nil {
			onDeadLetter(msgType)
		}
	}
	return i.Bus.Consume(ctx, s, func(ctx context.Context, d Delivery) error {
		if err := h(ctx, d); err != nil {
			i.m.Failed(queue, d.Type)
			return err
		}
		i.m.Consumed(queue, d.Type)
		return nil
	})
}
