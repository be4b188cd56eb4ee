package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Regression (issue 14, finding 1): anonymous requests to an expensive route must not pile up.
// With every slot held, the next request is refused with 429 and Retry-After while the held ones
// are still running, and /healthz is not held up at all.
func TestShedRefusesWhenFull(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const slots = 3
	release := make(chan struct{})
	started := make(chan struct{}, slots)
	r := web.NewRouter(log, metrics.New("test"), nil)
	r.With(web.Shed(log, slots, 20*time.Millisecond)).Get("/expensive", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		web.NoContent(w)
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	var held sync.WaitGroup
	heldStatus := make(chan int, slots)
	for range slots {
		held.Add(1)
		go func() {
			defer held.Done()
			resp, err := http.Get(srv.URL + "/expensive")
			if err == nil {
				heldStatus <- resp.StatusCode
				resp.Body.Close()
			}
		}()
	}
	for range slots {
		<-started
	}

	for range 5 {
		resp, err := http.Get(srv.URL + "/expensive")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	}
	resp, err := http.Get(srv.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	close(release)
	held.Wait()
	close(heldStatus)
	for status := range heldStatus {
		assert.Equal(t, http.StatusOK, status, "a request holding a slot is served")
	}
	resp, err = http.Get(srv.URL + "/expensive")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "slots are given back")
}

// A request that waits for a slot gets it when one is freed within the wait.
func TestShedWaitsBriefly(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	h := web.Shed(log, 1, time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case started <- struct{}{}:
			<-release
		default:
		}
		web.NoContent(w)
	}))
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	<-started
	done := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		done <- rec.Code
	}()
	close(release)
	assert.Equal(t, http.StatusOK, <-done)
}
