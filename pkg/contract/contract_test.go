package contract_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/contract/contracttest"
)

// TestWireForms pins the JSON of every message to SPEC §4's field names, with money as a plain
// number (24.5), so that a change to a Go definition that would break another service, or an
// older instance still running, fails here.
func TestWireForms(t *testing.T) {
	lines := []contract.OrderLine{{ArticleID: "a1", Quantity: 2}}
	for _, tc := range []struct {
		msg  any
		wire string
	}{
		{contract.Logout("jwt"), `"jwt"`},
		{contract.UserChanged{UserID: "u1"}, `{"userId":"u1"}`},
		{contract.ArticleRequest{ReferenceID: "r1", ArticleID: "a1"}, `{"referenceId":"r1","articleId":"a1"}`},
		{contract.ArticleValid{ReferenceID: "r1", ArticleID: "a1", Valid: true}, `{"referenceId":"r1","articleId":"a1","valid":true}`},
		{contract.ArticleData{ReferenceID: "o1", ArticleID: "a1", Valid: true, Price: 2450, Stock: 3},
			`{"referenceId":"o1","articleId":"a1","valid":true,"price":24.5,"stock":3}`},
		{contract.PlaceOrder{CartID: "c1", UserID: "u1", Articles: lines},
			`{"cartId":"c1","userId":"u1","articles":[{"articleId":"a1","quantity":2}]}`},
		{contract.OrderPlaced{OrderID: "o1", CartID: "c1", UserID: "u1", Articles: lines},
			`{"orderId":"o1","cartId":"c1","userId":"u1","articles":[{"articleId":"a1","quantity":2}]}`},
		{contract.OrderCancelled{OrderID: "o1", UserID: "u1", Reason: "payment_deadline", Articles: lines},
			`{"orderId":"o1","userId":"u1","reason":"payment_deadline","articles":[{"articleId":"a1","quantity":2}]}`},
	} {
		b, err := json.Marshal(tc.msg)
		require.NoError(t, err)
		assert.JSONEq(t, tc.wire, string(b))
	}
}

// TestProducedCatchesDisagreement shows what the producers' tests rely on: a body that is not
// exactly its contract's (a field renamed, a price that is text, a field missing) is refused.
func TestProducedCatchesDisagreement(t *testing.T) {
	good := bus.Delivery{Queue: contract.QueueOrder, Envelope: bus.Envelope{Type: contract.TypeArticleData,
		Message: json.RawMessage(`{"referenceId":"o1","articleId":"a1","valid":true,"price":12.5,"stock":4}`)}}
	got := contracttest.Produced(t, good)
	assert.Equal(t, contract.ArticleData{ReferenceID: "o1", ArticleID: "a1", Valid: true, Price: 1250, Stock: 4}, got)

	for name, body := range map[string]string{
		"renamed field":  `{"referenceId":"o1","article":"a1","valid":true,"price":12.5,"stock":4}`,
		"price as text":  `{"referenceId":"o1","articleId":"a1","valid":true,"price":"12.5","stock":4}`,
		"missing field":  `{"referenceId":"o1","articleId":"a1","valid":true,"price":12.5}`,
		"float residue":  `{"referenceId":"o1","articleId":"a1","valid":true,"price":12.499999,"stock":4}`,
		"fractional qty": `{"referenceId":"o1","articleId":"a1","valid":true,"price":12.5,"stock":4.5}`,
	} {
		bad := good
		bad.Message = json.RawMessage(body)
		rec := &fatalRecorder{T: t}
		func() {
			defer func() { _ = recover() }()
			contracttest.Produced(rec, bad)
		}()
		assert.True(t, rec.failed, name)
	}
	wrongQueue := good
	wrongQueue.Queue = contract.QueueCart
	rec := &fatalRecorder{T: t}
	func() {
		defer func() { _ = recover() }()
		contracttest.Produced(rec, wrongQueue)
	}()
	assert.True(t, rec.failed, "article-data replies go to the order queue in this shop")
}

// fatalRecorder records a Fatalf instead of ending the test.
type fatalRecorder struct {
	*testing.T
	failed bool
}

func (r *fatalRecorder) Fatalf(string, ...any) {
	r.failed = true
	panic("fatal")
}
