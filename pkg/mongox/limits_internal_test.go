package mongox

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// A store that stops answering is "stuck" for /readyz as soon as one command has waited longer
// than StuckAfter; a slow one is not.
func TestReadyTellsAStuckStore(t *testing.T) {
	now := time.Now()
	client := &Client{inFlight: newInFlight(func() time.Time { return now })}
	client.inFlight.start(41)
	client.inFlight.start(42) // a command the store has not answered
	now = now.Add(StuckAfter / 2)
	client.inFlight.end(41)
	assert.Equal(t, StuckAfter/2, client.inFlight.oldest(), "slow is not stuck")
	now = now.Add(StuckAfter)
	err := client.Ready(context.Background())
	require.Error(t, err)
	assert.True(t, errors.Is(err, errs.Stuck), "%v", err)
	client.inFlight.end(42)
	assert.Zero(t, client.inFlight.oldest(), "nothing waits once the store answered")
}
