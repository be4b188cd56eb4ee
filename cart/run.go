package cart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Config is the cart service's configuration: the common variables and its own tunables.
type Config struct {
	config.Common
	MongoDB          string        // MONGO_DB, default "cart"
	ValidateInterval time.Duration // CART_VALIDATE_INTERVAL: re-validation of open carts' lines
	ValidateBatch    int           // CART_VALIDATE_BATCH: open carts re-validated per round
	ResendInterval   time.Duration // CART_RESEND_INTERVAL: re-send of unconfirmed place_order
	PruneAfter       time.Duration // superseded cart states older than this are deleted
}

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv config.Getenv) (Config, error) {
	common, err := config.Load(getenv, "3003")
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
	if c.ValidateInterval <= 0 || c.ResendInterval <= 0 || c.ValidateBatch <= 0 {
		return c, errors.New("CART_VALIDATE_INTERVAL, CART_RESEND_INTERVAL and CART_VALIDATE_BATCH must be positive")
	}
	return c, nil
}

// Run runs the cart service until ctx is done: HTTP API, consumers of the `cart` and
// `cart_order_placed` queues and of logouts, and the re-validation and re-send loops.
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := LoadConfig(opts.Getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := app.Logger(opts, "cart", cfg.LogLevel)
	log.Info("starting", "config", cfg.Masked(), "mongo_db", cfg.MongoDB,
		"validate_interval", cfg.ValidateInterval.String(), "resend_interval", cfg.ResendInterval.String())

	client, err := mongox.Connect(ctx, cfg.MongoURL)
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	store, err := NewStore(ctx, client.Database(cfg.MongoDB))
	if err != nil {
		return err
	}

	m := metrics.New("cart")
	b, closeBus, err := app.OpenBus(ctx, opts, cfg.RabbitURL, log, m)
	if err != nil {
		return fmt.Errorf("bus: %w", err)
	}
	defer closeBus()

	checker := tokens.NewChecker(cfg.AuthURL, cfg.TokenTTL)
	svc := NewService(store, b, newCatalogClient(cfg.CatalogURL), log)

	// Background work stops with ctx; the HTTP server is stopped first (web.Serve returns after
	// in-flight requests), then the consumers finish their in-flight messages.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	background := func(name string, f func(context.Context) error) {
		wg.Go(func() {
			if err := f(bgCtx); err != nil && bgCtx.Err() == nil {
				log.Error("background task stopped", "task", name, "err", err)
			}
		})
	}
	background("logout", func(ctx context.Context) error { return checker.ListenLogout(ctx, b) })
	background("cart queue", func(ctx context.Context) error {
		return b.Consume(ctx, bus.Subscription{Queue: "cart", Prefetch: 4}, svc.HandleCartQueue)
	})
	background("order_placed", func(ctx context.Context) error {
		return b.Consume(ctx, bus.Subscription{Queue: "cart_order_placed", Prefetch: 4}, svc.HandleOrderPlaced)
	})
	background("re-send", func(ctx context.Context) error {
		every(ctx, log, "re-send place_order", cfg.ResendInterval, func(ctx context.Context) error {
			n, err := svc.ResendPlaceOrders(ctx, time.Now(), cfg.ResendInterval)
			if n > 0 {
				log.Info("place_order re-sent", "carts", n)
			}
			return err
		})
		return nil
	})
	// Pruning rides on the re-validation loop: both are slow-paced housekeeping of stored states.
	background("re-validate", func(ctx context.Context) error {
		every(ctx, log, "re-validate open carts, prune superseded states", cfg.ValidateInterval, func(ctx context.Context) error {
			if _, err := svc.Revalidate(ctx, cfg.ValidateBatch); err != nil {
				return err
			}
			_, err := store.Prune(ctx, time.Now().Add(-cfg.PruneAfter))
			return err
		})
		return nil
	})

	checks := map[string]web.ReadyCheck{"mongo": mongox.Ping(client), "broker": b.Ping}
	err = web.Serve(ctx, log, cfg.Addr(), NewServer(log, m, checks, checker, svc))
	stopBackground()
	wg.Wait()
	return err
}

// every runs job every interval until ctx is done, logging its failures.
func every(ctx context.Context, log *slog.Logger, name string, interval time.Duration, job func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := job(ctx); err != nil && ctx.Err() == nil {
				log.Warn("periodic job failed", "job", name, "err", err)
			}
		}
	}
}
