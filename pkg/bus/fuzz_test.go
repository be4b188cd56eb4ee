package bus_test

import (
	"testing"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// FuzzParseEnvelope feeds arbitrary bytes to ParseEnvelope, which reads whatever arrives from
// the broker: it must never panic, and must either return an envelope with a type or a
// Permanent error.
func FuzzParseEnvelope(f *testing.F) {
	for _, seed := range []string{
		`{"type":"article-data","version":1,"correlation_id":"c1","exchange":"order","queue":"order","message":{"articleId":"a1"}}`,
		`{"type":"logout","message":"token"}`,
		`{"type":""}`,
		`{"message":{}}`,
		`{"type":1}`,
		`{"type":"x","message":`,
		`[]`,
		`null`,
		``,
		"\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	for _, seed := range testkit.AnyJSON() {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := bus.ParseEnvelope(body)
		switch {
		case err != nil && !bus.IsPermanent(err):
			t.Fatalf("error not Permanent: %v", err)
		case err == nil && env.Type == "":
			t.Fatal("envelope without type accepted")
		}
	})
}
