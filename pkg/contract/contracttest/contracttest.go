// Package contracttest checks messages against the contract of pkg/contract, for the producers'
// tests: what a service publishes must be exactly a message of SPEC §4, sent where SPEC §4 says.
package contracttest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
)

// Message is one message of SPEC §4: its type, its Go definition and the routes it travels.
type Message struct {
	Type string
	// New returns a pointer to a zero value of the message's Go definition.
	New func() any
	// Queues are the queues it may be consumed from. A reply travels to the address its
	// request names, so a reply's list names where the shop's requests ask for it.
	Queues []string
}

// Messages is every message of SPEC §4.
var Messages = []Message{
	{Type: contract.TypeLogout, New: func() any { return new(contract.Logout) }},
	{Type: contract.TypeUserChanged, New: func() any { return new(contract.UserChanged) }},
	{Type: contract.TypeArticleValid, New: func() any { return new(contract.ArticleRequest) }, Queues: []string{contract.QueueCatalog}},
	{Type: contract.TypeArticleValid, New: func() any { return new(contract.ArticleValid) }, Queues: []string{contract.QueueCart}},
	{Type: contract.TypeArticleData, New: func() any { return new(contract.ArticleRequest) }, Queues: []string{contract.QueueCatalog}},
	{Type: contract.TypeArticleData, New: func() any { return new(contract.ArticleData) }, Queues: []string{contract.QueueOrder}},
	{Type: contract.TypePlaceOrder, New: func() any { return new(contract.PlaceOrder) }, Queues: []string{contract.QueueOrder}},
	{Type: contract.TypeOrderPlaced, New: func() any { return new(contract.OrderPlaced) },
		Queues: []string{contract.QueueCatalogOrderPlaced, contract.QueueCartOrderPlaced}},
	{Type: contract.TypeOrderCancelled, New: func() any { return new(contract.OrderCancelled) },
		Queues: []string{contract.QueueCatalogOrderCancelled}},
}

// Produced fails the test unless d, which a producer published and a test consumed from its
// queue, is a message of the contract that a consumer of that queue reads: a known type for the
// queue, a body that decodes into its Go definition with no unknown or missing field, and the
// same text once decoded and encoded again (so money and numbers keep their meaning). It
// returns the decoded message.
func Produced(t testing.TB, d bus.Delivery) any {
	t.Helper()
	var errs []string
	for _, m := range Messages {
		if m.Type != d.Type || !queueOf(m, d.Queue) {
			continue
		}
		v, problem := decodeExactly(d.Message, m.New())
		if problem == "" {
			return v
		}
		errs = append(errs, problem)
	}
	if errs == nil {
		t.Fatalf("message %q on queue %q is not a message of the contract (SPEC §4)", d.Type, d.Queue)
	}
	t.Fatalf("message %q on queue %q does not match its contract: %s\n%s", d.Type, d.Queue, strings.Join(errs, "; "), d.Message)
	return nil
}

// queueOf tells whether m travels on queue; a private queue (the auth fanout) is any queue.
func queueOf(m Message, queue string) bool {
	if m.Queues == nil {
		return true
	}
	for _, q := range m.Queues {
		if q == queue || q == bus.DeadLetterQueue(queue) {
			return true
		}
	}
	return false
}

// decodeExactly decodes body into v strictly and checks that nothing was lost or missing.
func decodeExactly(body []byte, v any) (any, string) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, err.Error()
	}
	again, err := json.Marshal(v)
	if err != nil {
		return nil, err.Error()
	}
	var sent, read any
	if json.Unmarshal(body, &sent) != nil || json.Unmarshal(again, &read) != nil {
		return nil, "not JSON"
	}
	if !reflect.DeepEqual(sent, read) {
		return nil, "fields missing or changed: sent " + string(body) + ", read " + string(again)
	}
	return reflect.ValueOf(v).Elem().Interface(), ""
}
