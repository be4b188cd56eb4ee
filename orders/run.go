package orders

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// DefaultPort is the orders service's port.
const DefaultPort = "3004"

// Config is the orders service's configuration: the common variables and its own.
type Config struct {
	config.Common
	MongoDB    string        // MONGO_DB, default "orders"
	StuckAfter time.Duration // ORDERS_STUCK_AFTER: a placed order older than this gets repaired
	Schedules  []JobSchedule // ORDERS_JOB_<STATUS>_EVERY: how often each status job runs
}

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv config.Getenv) (Config, error) {
	common, err := config.Load(getenv, DefaultPort)
	if err != nil {
		return Config{}, err
	}
	e := config.Env{Getenv: getenv}
	c := Config{Common: common, MongoDB: e.String("MONGO_DB", "orders"), Schedules: DefaultSchedules()}
	if c.StuckAfter, err = e.Duration("ORDERS_STUCK_AFTER", time.Minute); err != nil {
		return c, err
	}
	if c.StuckAfter < 0 {
		return c, fmt.Errorf("ORDERS_STUCK_AFTER must not be negative")
	}
	for i, sc := range c.Schedules {
		key := "ORDERS_JOB_" + strings.ToUpper(string(sc.Status)) + "_EVERY"
		if c.Schedules[i].Every, err = e.Duration(key, sc.Every); err != nil {
			return c, err
		}
		if c.Schedules[i].Every <= 0 {
			return c, fmt.Errorf("%s must be positive", key)
		}
	}
	return c, nil
}

// Run runs the orders service until ctx is done: the REST API, the consumer of the order queue,
// the status job scheduler and worker, and the logout listener of its token cache.
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := LoadConfig(opts.Getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := app.Logger(opts, "orders", cfg.LogLevel)
	log.Info("starting", "config", cfg.Masked(), "mongo_db", cfg.MongoDB, "stuck_after", cfg.StuckAfter.String())

	client, err := mongox.Connect(ctx, cfg.MongoURL)
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	store, err := NewStore(ctx, client.Database(cfg.MongoDB))
	if err != nil {
		return err
	}

	m := metrics.New("orders")
	b, closeBus, err := app.OpenBus(ctx, opts, cfg.RabbitURL, log, m)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	defer closeBus()

	checker := tokens.NewChecker(cfg.AuthURL, cfg.TokenTTL)
	svc := NewService(store, b, log)
	srv := NewServer(Deps{
		Log: log, Metrics: m, Tokens: checker, Service: svc,
		Ready: map[string]web.ReadyCheck{"mongo": mongox.Ping(client), "broker": b.Ping, "logout": checker.Ready},
	})
	return app.Serve(ctx,
		func(ctx context.Context) error { return web.Serve(ctx, log, cfg.Addr(), srv) },
		func(ctx context.Context) error { return checker.ListenLogout(ctx, b) },
		func(ctx context.Context) error {
			return b.Consume(ctx, bus.Subscription{Queue: contract.QueueOrder, Prefetch: 4}, handleOrderQueue(svc))
		},
		func(ctx context.Context) error {
			return b.Consume(ctx, bus.Subscription{Queue: contract.QueueStatusJobs, Prefetch: 1}, handleStatusJob(svc, cfg.StuckAfter))
		},
		func(ctx context.Context) error { return svc.ScheduleJobs(ctx, cfg.Schedules) },
	)
}
