package testkit

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Request is one HTTP request of a test.
type Request struct {
	Method, Path string
	Token        string            // sent as "Authorization: Bearer <Token>" when not empty
	Body         any               // nil: none; string or []byte: sent as is; else encoded as JSON
	Header       map[string]string // set last, so it may replace Content-Type or Authorization
	RemoteAddr   string            // the client's host:port (in-process requests only; default 127.0.0.1:1234)
}

// Serve sends r to the service at target — an http.Handler, served in process, or a base URL
// ("http://127.0.0.1:3002"), over the network — and returns the response it recorded. An error
// answer must carry declared codes (CheckCodes).
func Serve(t testing.TB, target any, r Request) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader = http.NoBody
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = bytes.NewBufferString(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(t, err)
		body = bytes.NewReader(raw)
	}
	rec := httptest.NewRecorder()
	switch target := target.(type) {
	case http.Handler:
		req := httptest.NewRequest(r.Method, r.Path, body)
		req.RemoteAddr = "127.0.0.1:1234" // a test client on the machine, as over the network
		if r.RemoteAddr != "" {
			req.RemoteAddr = r.RemoteAddr
		}
		setHeaders(req, r)
		target.ServeHTTP(rec, req)
	case string:
		req, err := http.NewRequest(r.Method, target+r.Path, body)
		require.NoError(t, err)
		setHeaders(req, r)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		for k, v := range resp.Header {
			rec.Header()[k] = v
		}
		rec.WriteHeader(resp.StatusCode)
		_, err = io.Copy(rec, resp.Body)
		require.NoError(t, err)
	default:
		t.Fatalf("testkit.Serve: target %T is neither an http.Handler nor a base URL", target)
	}
	CheckCodes(t, rec)
	return rec
}

func setHeaders(req *http.Request, r Request) {
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for name, value := range r.Header {
		req.Header.Set(name, value)
	}
}

// DecodeJSON decodes a recorded JSON answer into a T, failing the test when it is not one.
func DecodeJSON[T any](t testing.TB, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v), "answer %d: %s", rec.Code, rec.Body.String())
	return v
}

// Eventually is the one way tests here wait for something asynchronous: it checks cond at
// once, then polls it every 20ms with testify's Eventually, failing the test after timeout.
// The first check runs to its end however long it takes, so a condition that holds is never
// failed only because the machine is slow to evaluate it.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	if cond() {
		return
	}
	require.Eventually(t, cond, timeout, 20*time.Millisecond, msgAndArgs...)
}

// WaitReady waits until GET url/readyz answers 200, failing the test after timeout, or at once
// when died delivers (the service stopped; died may be nil).
func WaitReady(t testing.TB, url string, timeout time.Duration, died <-chan error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = &statusError{resp.StatusCode}
		}
		lastErr = err
		select {
		case err := <-died:
			t.Fatalf("service at %s stopped before it was ready: %v", url, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("service at %s not ready within %s (last: %v)", url, timeout, lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type statusError struct{ status int }

func (e *statusError) Error() string { return "/readyz answered " + http.StatusText(e.status) }
