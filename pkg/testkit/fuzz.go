package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
)

// FuzzBody fuzzes the JSON body of one route of the service at baseURL, sent with token (none
// when empty): whatever the body, the answer must come, and must not be a 5xx. The seeds are
// the body's shape's (Body.Seeds); the fuzzer's finds go to testdata/fuzz/<FuzzName>/.
func FuzzBody(f *testing.F, baseURL, method, path, token string, body Body) {
	for _, s := range body.Seeds() {
		f.Add([]byte(s))
	}
	client := &http.Client{Timeout: 30 * time.Second}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := http.NewRequest(method, baseURL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s with body %q: %v", method, path, body, err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s with body %q answered %d: %s", method, path, body, resp.StatusCode, answer)
		}
	})
}

// FuzzHandler fuzzes a message handler with arbitrary messages of each of types (any valid
// JSON: anything else the envelope parser refuses before a handler sees it). With its store up,
// the handler must return within a few seconds, and either handle the message or refuse it with
// a Permanent error: a retry would never make a bad message good.
//
// The seeds are the bodies' shapes' (Body.Seeds), each as every one of types.
func FuzzHandler(f *testing.F, h bus.Handler, types []string, bodies ...Body) {
	for _, b := range bodies {
		for _, s := range b.Seeds() {
			for i := range types {
				f.Add(uint8(i), []byte(s))
			}
		}
	}
	f.Fuzz(func(t *testing.T, typ uint8, msg []byte) {
		if !json.Valid(msg) {
			return
		}
		d := bus.Delivery{Envelope: bus.Envelope{Type: types[int(typ)%len(types)], Version: 1, Message: msg}, Attempt: 1}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := h(ctx, d)
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			t.Fatalf("%s message %q: the handler did not return", d.Type, msg)
		case err != nil && !bus.IsPermanent(err):
			t.Fatalf("%s message %q: a transient error for a bad message: %v", d.Type, msg, err)
		}
	})
}
