package orders

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// Catalog's answers of one order, stored together. Catalog publishes an order's answers back
// to back and the order queue's consumer runs several handlers at once, so they arrive
// together; stored one change each, they would cost an insert each, one after the other. So the
// answers of an order that arrive together form a batch: the first opens it, the others join,
// and it closes when every unanswered line has an answer (as Service.recent knows the order) or
// after answerLinger. Its opener stores it with one ordinary change, and every caller returns
// only once that change is done, so each message is acked after its event is stored. The
// change decides on the order as it stands, so repeated or unknown answers still change nothing.

// answerLinger bounds how long an answer waits for the other answers of its order.
const answerLinger = 2 * time.Millisecond

// answerBatches holds the batches still taking answers, one per order at most.
type answerBatches struct {
	mu   sync.Mutex
	open map[string]*answerBatch // order id → its open batch
}

// answerBatch is the answers of one order stored by one change.
type answerBatch struct {
	answers []ArticleData // guarded by answerBatches.mu while the batch is open
	full    chan struct{} // closed when every unanswered line has an answer: store at once
	stored  chan struct{} // closed when the change is done; o and err hold its outcome then
	o       Order
	err     error
}

// join adds a to the order's open batch, or opens one, which the caller then stores (opened).
// remembered is the order as this instance last left it, if known (known).
func (bs *answerBatches) join(orderID string, a ArticleData, remembered Order, known bool) (b *answerBatch, opened bool) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.open == nil {
		bs.open = map[string]*answerBatch{}
	}
	b = bs.open[orderID]
	if b == nil {
		b = &answerBatch{full: make(chan struct{}), stored: make(chan struct{})}
		bs.open[orderID] = b
		opened = true
	}
	b.answers = append(b.answers, a)
	if known && answersAll(remembered, b.answers) {
		delete(bs.open, orderID) // closed: later answers open a batch of their own
		close(b.full)
	}
	return b, opened
}

// answersAll tells whether answers hold an answer for every line of o not answered yet.
func answersAll(o Order, answers []ArticleData) bool {
	for _, line := range o.Articles {
		answered := func(a ArticleData) bool { return a.ArticleID == line.ArticleID }
		if !line.IsValidated && !slices.ContainsFunc(answers, answered) {
			return false
		}
	}
	return true
}

// close takes b off the open batches, if it is still there, and returns its answers.
func (bs *answerBatches) close(orderID string, b *answerBatch) []ArticleData {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.open[orderID] == b {
		delete(bs.open, orderID)
	}
	return b.answers
}

// RecordArticleData stores catalog's answer about one article of an order, once, together with
// the other answers of the order that arrive with it (see above). Answers for unknown orders or
// articles, and repeated answers, change nothing. It returns the order as the change left it.
func (s *Service) RecordArticleData(ctx context.Context, orderID string, a ArticleData) (Order, error) {
	remembered, known := s.recent.Peek(orderID)
	b, opened := s.answers.join(orderID, a, remembered, known)
	if opened {
		linger := time.NewTimer(answerLinger)
		select {
		case <-b.full:
		case <-linger.C:
		}
		linger.Stop()
		b.o, b.err = s.change(ctx, orderID, recordAnswers(s.answers.close(orderID, b)))
		close(b.stored)
	} else {
		select {
		case <-b.stored:
		case <-ctx.Done(): // the opener still stores it; this message is delivered again
			return Order{}, fmt.Errorf("%w: %w", errs.Unavailable, ctx.Err())
		}
	}
	o, err := b.o, b.err
	if err != nil {
		return o, err
	}
	// Told once the order is known to be the latest (a first decision may see a stale one).
	if _, ok := o.Article(a.ArticleID); !ok {
		what := "article-data for an unknown order, ignored"
		if o.Exists() {
			what = "article-data for an article not in the order, ignored"
		}
		s.log.WarnContext(ctx, what, "order_id", orderID, "article_id", a.ArticleID)
	}
	return o, nil
}

// recordAnswers decides an event for each answer about an article of the order not answered
// yet; the first of repeated answers in one batch counts, as it would one after the other.
func recordAnswers(answers []ArticleData) decision {
	return func(o Order) ([]Event, error) {
		var events []Event
		for _, a := range answers {
			line, ok := o.Article(a.ArticleID)
			inBatch := func(e Event) bool { return e.Article.ArticleID == a.ArticleID }
			if !ok || line.IsValidated || slices.ContainsFunc(events, inBatch) {
				continue // unknown order or article, or a redelivered or repeated answer
			}
			events = append(events, Event{Type: EventArticleValidated, Article: &a})
		}
		return events, nil
	}
}
