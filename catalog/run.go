package catalog

import (
	"context"
	"fmt"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Config is the catalog service's configuration: the common variables and its own.
type Config struct {
	config.Common
	MongoDB  string // MONGO_DB, default "catalog"
	Prefetch int    // CATALOG_PREFETCH: messages of each queue handled at once (default 8)
}

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv config.Getenv) (Config, error) {
	common, err := config.Load(getenv, "3002")
	if err != nil {
		return Config{}, err
	}
	e := config.Env{Getenv: getenv}
	c := Config{Common: common, MongoDB: e.String("MONGO_DB", "catalog")}
	if c.Prefetch, err = e.Int("CATALOG_PREFETCH", 8); err != nil {
		return c, err
	}
	if c.Prefetch <= 0 {
		return c, fmt.Errorf("CATALOG_PREFETCH must be positive")
	}
	return c, nil
}

// Run runs the catalog service until ctx is done: its HTTP API, its consumers of the `catalog`
// and `catalog_order_placed` queues, and the logout listener of its token cache.
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := LoadConfig(opts.Getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := app.Logger(opts, "catalog", cfg.LogLevel)
	log.Info("starting", "config", cfg.Masked(), "mongo_db", cfg.MongoDB, "prefetch", cfg.Prefetch)

	client, err := mongox.Connect(ctx, cfg.MongoURL)
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	store, err := NewStore(ctx, client.Database(cfg.MongoDB))
	if err != nil {
		return err
	}

	m := metrics.New("catalog")
	b, closeBus, err := app.OpenBus(ctx, opts, cfg.RabbitURL, log, m)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	defer closeBus()

	checker := tokens.NewChecker(cfg.AuthURL, cfg.TokenTTL)
	msgs := messages{log: log, store: store, pub: b}
	srv := NewServer(Deps{
		Log: log, Metrics: m, Tokens: checker, Store: store,
		Ready: map[string]web.ReadyCheck{"mongo": mongox.Ping(client), "broker": b.Ping, "logout": checker.Ready},
	})
	return app.Serve(ctx,
		func(ctx context.Context) error { return web.Serve(ctx, log, cfg.Addr(), srv) },
		func(ctx context.Context) error { return checker.ListenLogout(ctx, b) },
		func(ctx context.Context) error {
			return b.Consume(ctx, bus.Subscription{Queue: contract.QueueCatalog, Prefetch: cfg.Prefetch}, msgs.handleRequest)
		},
		func(ctx context.Context) error {
			return b.Consume(ctx, bus.Subscription{Queue: contract.QueueCatalogOrderPlaced, Prefetch: cfg.Prefetch}, msgs.handleOrderPlaced)
		},
	)
}
