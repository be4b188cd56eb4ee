package app_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
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

// TestOpenStoreWaitsForTheStore: a store that cannot serve yet (its NewStore fails with
// errs.Unavailable) is tried again until it can; any other error ends the start at once.
func TestOpenStoreWaitsForTheStore(t *testing.T) {
	env := map[string]string{"PORT": freeAddr(t), "MONGO_URL": testkit.MongoURL(t)}
	cfg, err := config.Load(func(k string) string { return env[k] }, "0")
	require.NoError(t, err)
	ctx := context.Background()
	rt, err := app.Start(ctx, app.Options{Bus: bus.NewMemory(contract.Topology), Stdout: testkit.LogWriter(t)}, "test", cfg)
	require.NoError(t, err)
	defer rt.Close()

	tries := 0
	db, err := app.OpenStore(ctx, rt, "opening", func(_ context.Context, db *mongo.Database) (*mongo.Database, error) {
		if tries++; tries < 3 {
			return nil, fmt.Errorf("%w: indexes: store timed out", errs.Unavailable)
		}
		return db, nil
	})
	require.NoError(t, err)
	assert.Equal(t, "opening", db.Name())
	assert.Equal(t, 3, tries, "two failures while the store could not serve, then opened")

	tries = 0
	_, err = app.OpenStore(ctx, rt, "opening", func(context.Context, *mongo.Database) (*mongo.Database, error) {
		tries++
		return nil, errors.New("index options conflict")
	})
	assert.EqualError(t, err, "index options conflict")
	assert.Equal(t, 1, tries, "an error that is not the store being away is not retried")

	stopping, cancel := context.WithTimeout(ctx, time.Second) // while it waits to try again
	defer cancel()
	_, err = app.OpenStore(stopping, rt, "opening", func(context.Context, *mongo.Database) (*mongo.Database, error) {
		return nil, fmt.Errorf("%w: store down", errs.Unavailable)
	})
	assert.ErrorIs(t, err, errs.Unavailable, "a stopped start gives up with the store's error")
}
