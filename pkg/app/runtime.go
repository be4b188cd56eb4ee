package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Runtime is what every service's Run sets up the same way: its logger, metrics and broker, the
// store connection and token checker when it has them, and what /readyz checks of them all.
// Close releases it all; Serve runs the service.
type Runtime struct {
	Log     *slog.Logger
	Metrics *metrics.Metrics
	Bus     bus.Bus

	cfg     config.Common
	ready   map[string]web.ReadyCheck
	checker *tokens.Checker // set by Tokens
	closers []func()
}

// Start logs the service's configuration (cfg and the key-value pairs of extra) and connects
// to its broker. The caller must Close the runtime.
func Start(ctx context.Context, opts Options, service string, cfg config.Common, extra ...any) (*Runtime, error) {
	log := Logger(opts, service, cfg.LogLevel)
	shown := cfg.Masked()
	if opts.Bus != nil { // the all-in-one run's in-process broker: RABBIT_URL is not used
		shown["rabbit_url"] = "in-process"
	}
	log.Info("starting", append([]any{"config", shown}, extra...)...)
	m := metrics.New(service)
	b, closeBus, err := OpenBus(ctx, opts, cfg.RabbitURL, log, m)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	rt := &Runtime{Log: log, Metrics: m, Bus: b, cfg: cfg, ready: map[string]web.ReadyCheck{"broker": b.Ping}}
	rt.closers = append(rt.closers, closeBus)
	return rt, nil
}

// Mongo connects to MONGO_URL and returns the database name; /readyz checks the connection.
func (rt *Runtime) Mongo(ctx context.Context, name string) (*mongo.Database, error) {
	rt.Log.Info("store", "mongo_url", config.Mask(rt.cfg.MongoURL), "mongo_db", name)
	client, err := mongox.Connect(ctx, rt.cfg.MongoURL, rt.Metrics.StoreRoundTrip)
	if err != nil {
		return nil, err
	}
	rt.closers = append(rt.closers, func() { _ = client.Disconnect(context.WithoutCancel(ctx)) })
	rt.Ready("mongo", client.Ready)
	return client.Database(name), nil
}

// Tokens returns the service's token checker (asking AUTH_SERVICE_URL). Serve runs its logout
// listener, and /readyz checks that it hears logouts: until it does, the checker asks auth
// for every token.
func (rt *Runtime) Tokens() *tokens.Checker {
	if rt.checker == nil {
		rt.checker = tokens.NewChecker(rt.cfg.AuthURL, rt.cfg.TokenTTL)
		rt.Ready("logout", rt.checker.Ready)
	}
	return rt.checker
}

// Ready adds a check to /readyz.
func (rt *Runtime) Ready(name string, check web.ReadyCheck) { rt.ready[name] = check }

// Basics is what the service's HTTP server needs of the runtime.
func (rt *Runtime) Basics() web.Basics {
	return web.Basics{Log: rt.Log, Metrics: rt.Metrics, Ready: rt.ready, MetricsAllow: rt.cfg.MetricsAllow}
}

// Serve runs the service's HTTP API on PORT and its workers until ctx is done (see Serve),
// with the logout listener of its token checker among them.
func (rt *Runtime) Serve(ctx context.Context, handler http.Handler, workers ...Worker) error {
	if rt.checker != nil {
		workers = append(workers, rt.checker.LogoutListener(rt.Bus))
	}
	return Serve(ctx, rt.Log, rt.cfg.Addr(), handler, workers...)
}

// Close releases the store connection and the broker, the last opened first.
func (rt *Runtime) Close() {
	for i := len(rt.closers) - 1; i >= 0; i-- {
		rt.closers[i]()
	}
}

// OpenStore connects to MONGO_URL (see Runtime.Mongo) and opens a service's store on its
// database name with open (the service's NewStore). While the store cannot serve (open fails
// with errs.Unavailable: down, overloaded, timing out) it tries again, 0.5 s apart at first
// and at most 5 s, until ctx is done: a service started while its store is away waits for it
// instead of exiting.
func OpenStore[S any](ctx context.Context, rt *Runtime, name string, open func(context.Context, *mongo.Database) (S, error)) (S, error) {
	var zero S
	db, err := rt.Mongo(ctx, name)
	if err != nil {
		return zero, err
	}
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		store, err := open(ctx, db)
		if !errors.Is(err, errs.Unavailable) {
			return store, err
		}
		rt.Log.WarnContext(ctx, "store not ready, trying again", "database", name, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return zero, err
		case <-time.After(wait):
		}
	}
}
