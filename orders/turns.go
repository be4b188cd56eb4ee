package orders

import (
	"context"
	"fmt"
	"sync"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// turns lets the changes of one order within this instance take turns, each starting from the
// order as the previous one left it (Service.recent). Concurrent payments, or a batch of
// catalog's answers (answers.go) next to a late one: without turns they would race for the
// same version, and all but one would lose, catch up and try again. Changes made by other
// instances are still settled by the unique event ids (see changeFrom). An order's entry lives while changes of it hold or wait for the turn,
// so memory does not grow with the orders.
type turns struct {
	mu     sync.Mutex
	orders map[string]*turn
}

type turn struct {
	token chan struct{} // holds a token while a change has the turn
	users int           // changes holding or waiting for the turn; guarded by turns.mu
}

// take waits for the order's turn, or for ctx to end.
func (ts *turns) take(ctx context.Context, orderID string) (*turn, error) {
	ts.mu.Lock()
	if ts.orders == nil {
		ts.orders = map[string]*turn{}
	}
	t := ts.orders[orderID]
	if t == nil {
		t = &turn{token: make(chan struct{}, 1)}
		ts.orders[orderID] = t
	}
	t.users++
	ts.mu.Unlock()
	select {
	case t.token <- struct{}{}:
		return t, nil
	case <-ctx.Done():
		ts.leave(orderID, t)
		return nil, fmt.Errorf("%w: %w", errs.Unavailable, ctx.Err())
	}
}

// give ends the turn taken with take.
func (ts *turns) give(orderID string, t *turn) {
	<-t.token
	ts.leave(orderID, t)
}

func (ts *turns) leave(orderID string, t *turn) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t.users--; t.users == 0 {
		delete(ts.orders, orderID)
	}
}
