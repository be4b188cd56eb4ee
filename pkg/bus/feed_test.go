package bus_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
)

// A feed's receiver decodes its own type and refuses any other for good.
func TestReceive(t *testing.T) {
	type changed struct{ ID string }
	var got []changed
	h := bus.Receive("thing-changed", func(c changed) error {
		got = append(got, c)
		return nil
	})
	delivery := func(msgType, body string) bus.Delivery {
		return bus.Delivery{Envelope: bus.Envelope{Type: msgType, Message: json.RawMessage(body)}}
	}

	require.NoError(t, h(context.Background(), delivery("thing-changed", `{"ID":"a"}`)))
	assert.Equal(t, []changed{{ID: "a"}}, got)

	err := h(context.Background(), delivery("other", `{"ID":"b"}`))
	assert.True(t, bus.IsPermanent(err), "another type: %v", err)
	err = h(context.Background(), delivery("thing-changed", `{"ID":`))
	assert.Error(t, err, "a malformed body")
	assert.Len(t, got, 1, "nothing applied but the good message")
}
