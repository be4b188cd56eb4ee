package orders

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
)

// Config is the orders service's configuration: the common variables and its own.
type Config struct {
	config.Common
	MongoDB    string        // MONGO_DB, default "orders"
	StuckAfter time.Duration // ORDERS_STUCK_AFTER: a placed order older than this gets repaired
	Schedules  []JobSchedule // ORDERS_JOB_<STATUS>_EVERY: how often each status job runs
	// PaymentDeadline is ORDERS_PAYMENT_DEADLINE (default 30m, 0 none): a validated order not
	// paid that long after it was validated is cancelled.
	PaymentDeadline time.Duration
	// MaxUnpaid is ORDERS_MAX_UNPAID (default 3, 0 no limit): the placed or validated-unpaid
	// orders a user may hold.
	MaxUnpaid int
}

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv config.Getenv) (Config, error) {
	common, err := config.Load(getenv, config.DefaultPort("orders"))
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
	if c.PaymentDeadline, err = e.Duration("ORDERS_PAYMENT_DEADLINE", 30*time.Minute); err != nil {
		return c, err
	}
	if c.PaymentDeadline < 0 {
		return c, fmt.Errorf("ORDERS_PAYMENT_DEADLINE must not be negative")
	}
	if c.MaxUnpaid, err = e.Int("ORDERS_MAX_UNPAID", 3); err != nil {
		return c, err
	}
	if c.MaxUnpaid < 0 || c.MaxUnpaid > maxUnpaidLimit {
		return c, fmt.Errorf("ORDERS_MAX_UNPAID must be 0 to %d", maxUnpaidLimit)
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
// the status job scheduler and worker, the order_changes feed and listener of its listings'
// cache, and the logout listener of its token cache.
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := LoadConfig(opts.Getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	rt, err := app.Start(ctx, opts, "orders", cfg.Common, "mongo_db", cfg.MongoDB, "stuck_after", cfg.StuckAfter.String(),
		"payment_deadline", cfg.PaymentDeadline.String(), "max_unpaid", cfg.MaxUnpaid)
	if err != nil {
		return err
	}
	defer rt.Close()
	now := time.Now // the one clock of the service
	store, err := app.OpenStore(ctx, rt, cfg.MongoDB, func(ctx context.Context, db *mongo.Database) (*Store, error) {
		return NewStore(ctx, db, now)
	})
	if err != nil {
		return err
	}

	feed := bus.NewFeed(rt.Log, rt.Bus, contract.ExchangeOrderChanges, typeOrderChanged)
	svc := NewService(store, ServiceConfig{
		Bus: rt.Bus, Log: rt.Log, Now: now, Broadcast: feed.Add,
		PaymentDeadline: cfg.PaymentDeadline, MaxUnpaid: cfg.MaxUnpaid,
	})
	changes := bus.Subscription{Exchange: contract.ExchangeOrderChanges, OnStart: store.lists.orders.Flush}
	srv := NewServer(Deps{Basics: rt.Basics(), Tokens: rt.Tokens(), Service: svc})
	return rt.Serve(ctx, srv,
		feed.Run,
		app.Consume(rt.Bus, changes, handleOrderChanged(store.lists.orders)),
		app.Consume(rt.Bus, bus.Subscription{Queue: contract.QueueOrder, Prefetch: 16}, handleOrderQueue(svc)),
		app.Consume(rt.Bus, bus.Subscription{Queue: contract.QueueStatusJobs, Prefetch: 1}, handleStatusJob(svc, cfg.StuckAfter)),
		func(ctx context.Context) error { return svc.ScheduleJobs(ctx, cfg.Schedules) },
	)
}
