// Package app is what every service's Run shares: how it is started (alone as its own binary, or
// beside the others in the all-in-one launcher), its logger, its broker connection.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/correlation"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Options is what a service's Run receives. Getenv is its only source of configuration.
// Bus, when set, is a broker the launcher shares between services (the in-process one); when
// nil, Run dials RABBIT_URL.
type Options struct {
	Getenv config.Getenv
	Stdout io.Writer
	Bus    bus.Bus
}

// RunFunc is the shape of every service's Run.
type RunFunc func(ctx context.Context, opts Options) error

// Main runs a service as its own binary: environment from the process, logs on stdout, stopped
// by SIGINT or SIGTERM. A cmd's main is only `app.Main(auth.Run)`.
func Main(run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, Options{Getenv: os.Getenv, Stdout: os.Stdout}); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// Logger returns the service's JSON logger at the LOG_LEVEL of cfg.
func Logger(opts Options, service string, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		l = slog.LevelInfo
	}
	out := opts.Stdout
	if out == nil {
		out = io.Discard
	}
	return correlation.NewLogger(out, service, l)
}

// OpenBus returns the service's broker, counted in m: the shared one of opts, or a RabbitMQ
// connection to url. Calling close releases what OpenBus opened (never the shared broker).
func OpenBus(ctx context.Context, opts Options, url string, log *slog.Logger, m *metrics.Metrics) (b bus.Bus, closeFn func(), err error) {
	if opts.Bus != nil {
		return bus.Instrument(opts.Bus, m), func() {}, nil
	}
	r, err := bus.DialRabbit(ctx, url, contract.Topology, log)
	if err != nil {
		return nil, nil, err
	}
	return bus.Instrument(r, m), func() { _ = r.Close() }, nil
}

// Worker is a part of a service that runs beside its HTTP server until its context is done:
// a consumer, a listener, a periodic job.
type Worker func(ctx context.Context) error

// Consume is the worker that consumes s with h on b.
func Consume(b bus.Bus, s bus.Subscription, h bus.Handler) Worker {
	return func(ctx context.Context) error { return b.Consume(ctx, s, h) }
}

// Serve runs a service until ctx is done or one of its parts fails: its HTTP API (handler on
// addr) and its workers. It stops them in one order, the same in every service: first the HTTP
// server (once in-flight requests are answered), then the workers, which finish the messages
// they hold. Stores and the broker are closed after Serve returns, by the caller's defers. It
// returns the first error of any part.
func Serve(ctx context.Context, log *slog.Logger, addr string, handler http.Handler, workers ...Worker) error {
	g, ctx := errgroup.WithContext(ctx)
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	g.Go(func() error {
		defer stopWork()
		return web.Serve(ctx, log, addr, handler)
	})
	for _, work := range workers {
		g.Go(func() error {
			if err := work(workCtx); err != nil {
				return err
			}
			// A worker that ends by itself before the shutdown is a fault: stop everything.
			if workCtx.Err() == nil {
				return errors.New("a worker stopped before the service")
			}
			return nil
		})
	}
	err := g.Wait()
	log.Info("stopped", "err", err)
	return err
}

// JobTimeout is how long one run of a periodic job may take: a run held up by a stuck store
// gives way to the next instead of stopping the job for good. (Runs never overlap: a tick that
// comes while a run goes on is dropped, so a run may take longer than its interval.)
const JobTimeout = time.Minute

// Every is the worker that runs job every interval until its context is done, each run within
// its deadline (JobTimeout). A failure is logged under name, and the next tick tries again.
func Every(log *slog.Logger, name string, interval time.Duration, job func(context.Context) error) Worker {
	return func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				if err := RunJob(ctx, job); err != nil && ctx.Err() == nil {
					log.WarnContext(ctx, "periodic job failed", "job", name, "err", err)
				}
			}
		}
	}
}

// RunJob runs one run of a periodic job within its deadline (JobTimeout).
func RunJob(ctx context.Context, job func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, JobTimeout)
	defer cancel()
	return job(ctx)
}
