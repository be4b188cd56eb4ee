package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// TestRuntimeListensForLogouts checks what every service gets from its runtime: a token
// checker whose logout listener runs with the service, so that tokens are cached (one call to
// auth), a logout evicts, and /readyz reports the subscription.
func TestRuntimeListensForLogouts(t *testing.T) {
	auth := testkit.NewAuth(t)
	auth.Add("tok", "u1")
	broker := bus.NewMemory(contract.Topology)
	addr := freeAddr(t)
	env := map[string]string{"PORT": addr, "AUTH_SERVICE_URL": auth.URL}
	cfg, err := config.Load(func(k string) string { return env[k] }, "0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	rt, err := app.Start(ctx, app.Options{Bus: broker, Stdout: testkit.LogWriter(t)}, "test", cfg)
	require.NoError(t, err)
	defer rt.Close()
	checker := rt.Tokens()
	router := rt.Basics().Router([]byte(`{"openapi":"3.0.3"}`))
	served := make(chan error, 1)
	go func() { served <- rt.Serve(ctx, router) }()
	testkit.WaitReady(t, "http://"+addr, 10*time.Second, served)
	require.True(t, checker.Listening())

	for range 3 {
		_, err := checker.Check(ctx, "tok")
		require.NoError(t, err)
	}
	assert.Equal(t, 1, auth.Calls(), "cached while the service runs")
	auth.Revoke("tok")
	require.NoError(t, bus.Send(ctx, broker, contract.ExchangeAuth, "", contract.TypeLogout, contract.Logout("tok")))
	testkit.Eventually(t, 5*time.Second, func() bool { _, err := checker.Check(ctx, "tok"); return err != nil }, "logout evicts")

	stop()
	require.NoError(t, <-served)
	assert.False(t, checker.Listening(), "the listener stops with the service")
	resp, err := http.Get("http://" + addr + "/readyz")
	if err == nil {
		resp.Body.Close()
	}
	assert.Error(t, err, "the HTTP server is stopped")
}
