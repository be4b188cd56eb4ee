package orders

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// DefaultPort is the orders service's port.
const DefaultPort = "3004"

// settings is the orders service's own configuration, beside config.Common.
type settings struct {
	database   string        // MONGO_DB
	stuckAfter time.Duration // ORDERS_STUCK_AFTER: a placed order older than this gets repaired
	schedules  []JobSchedule // ORDERS_JOB_<STATUS>_EVERY: how often each status job runs
}

func loadSettings(getenv config.Getenv) (settings, error) {
	e := config.Env{Getenv: getenv}
	s := settings{database: e.String("MONGO_DB", "orders"), schedules: DefaultSchedules()}
	var err error
	if s.stuckAfter, err = e.Duration("ORDERS_STUCK_AFTER", time.Minute); err != nil {
		return s, err
	}
	if s.stuckAfter < 0 {
		return s, fmt.Errorf("ORDERS_STUCK_AFTER must not be negative")
	}
	for i, sc := range s.schedules {
		key := "ORDERS_JOB_" + strings.ToUpper(string(sc.Status)) + "_EVERY"
		if s.schedules[i].Every, err = e.Duration(key, sc.Every); err != nil {
			return s, err
		}
		if s.schedules[i].Every <= 0 {
			return s, fmt.Errorf("%s must be positive", key)
		}
	}
	return s, nil
}

// Run runs the orders service until ctx is done: the REST API, the consumer of the order queue,
// the status job scheduler and worker, and the logout listener.
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := config.Load(opts.Getenv, DefaultPort)
	if err != nil {
		return err
	}
	set, err := loadSettings(opts.Getenv)
	if err != nil {
		return err
	}
	log := app.Logger(opts, "orders", cfg.LogLevel)
	log.Info("starting", "config", cfg.Masked(), "database", set.database, "stuck_after", set.stuckAfter.String())
	m := metrics.New("orders")

	client, err := mongox.Connect(ctx, cfg.MongoURL, m.StoreRoundTrip)
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	store, err := NewStore(ctx, client.Database(set.database))
	if err != nil {
		return err
	}
	b, closeBus, err := app.OpenBus(ctx, opts, cfg.RabbitURL, log, m)
	if err != nil {
		return err
	}
	defer closeBus()

	svc := NewService(store, b, log)
	checker := tokens.NewChecker(cfg.AuthURL, cfg.TokenTTL)
	ready := map[string]web.ReadyCheck{"mongo": mongox.Ping(client), "broker": b.Ping}

	// Any part stopping with an error stops the others, and Run returns that error.
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return checker.ListenLogout(ctx, b) })
	g.Go(func() error {
		return b.Consume(ctx, bus.Subscription{Queue: "order", Prefetch: 4}, handleOrderQueue(svc))
	})
	g.Go(func() error {
		return b.Consume(ctx, bus.Subscription{Queue: "order_status_jobs", Prefetch: 1}, handleStatusJob(svc, set.stuckAfter))
	})
	g.Go(func() error { return svc.ScheduleJobs(ctx, set.schedules) })
	g.Go(func() error { return web.Serve(ctx, log, cfg.Addr(), NewServer(log, m, ready, checker, svc)) })
	err = g.Wait()
	log.Info("stopped", "err", err)
	return err
}
