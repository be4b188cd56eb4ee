package app_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// TestServeStopsHTTPFirst checks the shutdown order of every service: a request in flight when
// the service is told to stop is answered while the workers still run; the workers stop after.
func TestServeStopsHTTPFirst(t *testing.T) {
	addr := freeAddr(t)
	inHandler, release := make(chan struct{}), make(chan struct{})
	var workerCtx atomic.Pointer[context.Context]
	var workerDoneDuringRequest atomic.Bool
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-release
		if ctx := workerCtx.Load(); ctx != nil && (*ctx).Err() != nil {
			workerDoneDuringRequest.Store(true)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	worker := func(ctx context.Context) error {
		workerCtx.Store(&ctx)
		<-ctx.Done()
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, testkit.Logger(t), addr, handler, worker) }()

	answered := make(chan int, 1)
	testkit.Eventually(t, 10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil && workerCtx.Load() != nil
	}, "service started")
	go func() {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-inHandler
	stop()
	time.Sleep(100 * time.Millisecond) // give a wrong order the time to show
	close(release)

	assert.Equal(t, http.StatusNoContent, <-answered, "the request in flight is answered")
	require.NoError(t, <-served)
	assert.False(t, workerDoneDuringRequest.Load(), "workers stop only after the HTTP server")
	assert.Error(t, (*workerCtx.Load()).Err(), "workers are stopped when Serve returns")
}

// TestServeStopsOnWorkerFailure checks that a failing worker stops the whole service.
func TestServeStopsOnWorkerFailure(t *testing.T) {
	boom := errors.New("consumer gave up")
	err := app.Serve(context.Background(), testkit.Logger(t), freeAddr(t), http.NotFoundHandler(),
		func(ctx context.Context) error { <-ctx.Done(); return nil },
		func(context.Context) error { return boom },
	)
	assert.ErrorIs(t, err, boom)
}
