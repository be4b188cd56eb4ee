package cart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/quota"
)

// Config is the cart service's configuration: the common variables and its own tunables.
type Config struct {
	config.Common
	MongoDB          string        // MONGO_DB, default "cart"
	ValidateInterval time.Duration // CART_VALIDATE_INTERVAL: re-validation of open carts' lines
	ValidateBatch    int           // CART_VALIDATE_BATCH: open carts re-validated per round
	ResendInterval   time.Duration // CART_RESEND_INTERVAL: re-send of unconfirmed place_order
	PruneAfter       time.Duration // superseded cart states older than this are deleted
	// CheckoutsPerMinute (CART_CHECKOUTS_PER_MINUTE, default 10) bounds each user's checkouts
	// per clock minute (SPEC §2); 0 turns the quota off.
	CheckoutsPerMinute int
}

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv config.Getenv) (Config, error) {
	common, err := config.Load(getenv, config.DefaultPort("cart"))
	if err != nil {
		return Config{}, err
	}
	e := config.Env{Getenv: getenv}
	c := Config{Common: common, MongoDB: e.String("MONGO_DB", "cart"), PruneAfter: 10 * time.Minute}
	if c.ValidateInterval, err = e.Duration("CART_VALIDATE_INTERVAL", 5*time.Minute); err != nil {
		return c, err
	}
	if c.ResendInterval, err = e.Duration("CART_RESEND_INTERVAL", 30*time.Second); err != nil {
		return c, err
	}
	if c.ValidateBatch, err = e.Int("CART_VALIDATE_BATCH", 200); err != nil {
		return c, err
	}
	if c.CheckoutsPerMinute, err = e.Int("CART_CHECKOUTS_PER_MINUTE", 10); err != nil {
		return c, err
	}
	if c.CheckoutsPerMinute < 0 {
		return c, errors.New("CART_CHECKOUTS_PER_MINUTE must be 0 (off) or positive")
	}
	if c.ValidateInterval <= 0 || c.ResendInterval <= 0 || c.ValidateBatch <= 0 {
		return c, errors.New("CART_VALIDATE_INTERVAL, CART_RESEND_INTERVAL and CART_VALIDATE_BATCH must be positive")
	}
	return c, nil
}

// pointerRepairWindow is how far back the periodic AddMissingPointers looks. A pointer goes
// missing only when a process stops between two inserts, so the cart was closed moments before
// the process stopped; any instance running within this window after that repairs it.
const pointerRepairWindow = time.Hour

// quotaSweepDeadline bounds a run of the removal of ended checkout quota windows.
const quotaSweepDeadline = 20 * time.Second

// Run runs the cart service until ctx is done: HTTP API, consumers of the `cart` and
// `cart_order_placed` queues and of logouts, and the re-validation and re-send loops.
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := LoadConfig(opts.Getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	rt, err := app.Start(ctx, opts, "cart", cfg.Common, "mongo_db", cfg.MongoDB,
		"validate_interval", cfg.ValidateInterval.String(), "resend_interval", cfg.ResendInterval.String(),
		"checkouts_per_minute", cfg.CheckoutsPerMinute)
	if err != nil {
		return err
	}
	defer rt.Close()
	store, err := app.OpenStore(ctx, rt, cfg.MongoDB, NewStore)
	if err != nil {
		return err
	}
	now := time.Now
	var slots *quota.Slots
	var workers []app.Worker
	if cfg.CheckoutsPerMinute > 0 {
		slots = quota.NewSlots(store.QuotaSlots(), now)
		if err := slots.EnsureIndexes(ctx); err != nil {
			return err
		}
		workers = append(workers, sweepQuotaWindows(rt.Log, slots))
	}
	feed := bus.NewFeed(rt.Log, rt.Bus, contract.ExchangeCartChanges, typeCartChanged)
	svc := NewService(ServiceDeps{
		Store: store, Bus: rt.Bus, Catalog: newCatalogClient(cfg.CatalogURL), Log: rt.Log, Now: now,
		Broadcast: feed.Add, Checkouts: slots, CheckoutsPerMinute: cfg.CheckoutsPerMinute,
	})
	changes := bus.Subscription{Exchange: contract.ExchangeCartChanges, OnStart: svc.cache.flush}
	srv := NewServer(Deps{Basics: rt.Basics(), Tokens: rt.Tokens(), Service: svc})
	return rt.Serve(ctx, srv, append(workers,
		feed.Run,
		app.Consume(rt.Bus, changes, handleCartChanged(svc.cache)),
		app.Consume(rt.Bus, bus.Subscription{Queue: contract.QueueCart, Prefetch: 4}, handleCartQueue(svc)),
		app.Consume(rt.Bus, bus.Subscription{Queue: contract.QueueCartOrderPlaced, Prefetch: 4}, handleOrderPlaced(svc)),
		app.Every(rt.Log, "re-send place_order", cfg.ResendInterval, func(ctx context.Context) error {
			n, err := svc.ResendPlaceOrders(ctx, now(), cfg.ResendInterval)
			if n > 0 {
				rt.Log.Info("place_order re-sent", "carts", n)
			}
			return err
		}),
		housekeeping(rt.Log, svc, store, cfg, now),
	)...)
}

// sweepQuotaWindows removes ended checkout quota windows every minute (no TTL index: not on
// every MongoDB-wire server).
func sweepQuotaWindows(log *slog.Logger, slots *quota.Slots) app.Worker {
	return app.Every(log, "remove ended checkout quota windows", time.Minute, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, quotaSweepDeadline)
		defer cancel()
		_, err := slots.Sweep(ctx)
		return err
	})
}

// housekeeping re-validates open carts, prunes superseded states and adds missing pointers, all
// slow-paced work on stored states, every validate interval.
func housekeeping(log *slog.Logger, svc *Service, store *Store, cfg Config, now func() time.Time) app.Worker {
	return app.Every(log, "re-validate open carts, prune superseded states, add missing pointers", cfg.ValidateInterval, func(ctx context.Context) error {
		if _, err := svc.Revalidate(ctx, cfg.ValidateBatch); err != nil {
			return err
		}
		if _, err := store.Prune(ctx, now().Add(-cfg.PruneAfter)); err != nil {
			return err
		}
		n, err := store.AddMissingPointers(ctx, now().Add(-pointerRepairWindow))
		if n > 0 {
			log.Warn("closed carts without pointer found, pointers added", "carts", n)
		}
		return err
	})
}
