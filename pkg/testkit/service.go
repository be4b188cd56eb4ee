package testkit

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
)

// Rabbit returns a RabbitMQ bus on a fresh virtual host (see RabbitURL), closed when the test ends.
func Rabbit(t testing.TB) *bus.Rabbit {
	t.Helper()
	return DialRabbit(t, RabbitURL(t))
}

// DialRabbit returns a RabbitMQ bus on url, closed when the test ends; several buses on one
// vhost act as several service instances.
func DialRabbit(t testing.TB, url string) *bus.Rabbit {
	t.Helper()
	b, err := bus.DialRabbit(context.Background(), url, contract.Topology, Logger(t))
	if err != nil {
		t.Fatalf("dial rabbitmq: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// Consume runs h on the deliveries of s until the test ends. It returns once the consumer has
// started, so a message published next cannot be missed.
func Consume(t testing.TB, b bus.Bus, s bus.Subscription, h bus.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var once sync.Once
	onStart := s.OnStart
	s.OnStart = func() {
		if onStart != nil {
			onStart()
		}
		once.Do(func() { close(started) })
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Consume(ctx, s, h)
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-started:
	case <-done:
		t.Fatalf("consumer of %q stopped before it started", s.Queue+s.Exchange)
	case <-time.After(30 * time.Second):
		t.Fatalf("consumer of %q did not start", s.Queue+s.Exchange)
	}
}

// RunService runs a service's Run on a free loopback port with env as its whole environment
// (PORT is set for it) and waits until its /readyz answers 200. When the test ends it stops the
// service and fails the test unless Run returns nil in time. It returns the service's base URL.
func RunService(t testing.TB, run app.RunFunc, env map[string]string, b bus.Bus) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	vars := map[string]string{"LOG_LEVEL": "debug"}
	for k, v := range env {
		vars[k] = v
	}
	vars["PORT"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts := app.Options{Getenv: func(k string) string { return vars[k] }, Stdout: LogWriter(t), Bus: b}
	go func() { done <- run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v after its context was done", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Run did not return within 30s after its context was done")
		}
	})
	url := "http://" + addr
	WaitReady(t, url, 60*time.Second, done)
	return url
}
