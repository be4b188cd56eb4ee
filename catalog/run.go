package catalog

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
)

// Config is the catalog service's configuration: the common variables and its own.
type Config struct {
	config.Common
	MongoDB    string        // MONGO_DB, default "catalog"
	Prefetch   int           // CATALOG_PREFETCH: messages of each queue handled at once (default 8)
	ViewReload time.Duration // CATALOG_VIEW_RELOAD: how often the read model is reloaded as a safety net (default 1m)
}

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv config.Getenv) (Config, error) {
	common, err := config.Load(getenv, config.DefaultPort("catalog"))
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
	if c.ViewReload, err = e.Duration("CATALOG_VIEW_RELOAD", time.Minute); err != nil {
		return c, err
	}
	if c.ViewReload <= 0 {
		return c, fmt.Errorf("CATALOG_VIEW_RELOAD must be positive")
	}
	return c, nil
}

// Run runs the catalog service until ctx is done: its HTTP API, its consumers of the `catalog`,
// `catalog_order_placed` and `catalog_order_cancelled` queues, its read model of the articles
// with the catalog_changes broadcast that keeps other instances' read models current, and the
// logout listener of its token cache.
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := LoadConfig(opts.Getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	rt, err := app.Start(ctx, opts, "catalog", cfg.Common, "mongo_db", cfg.MongoDB, "prefetch", cfg.Prefetch)
	if err != nil {
		return err
	}
	defer rt.Close()
	// The read model: filled before serving, then kept current (see articleView).
	view := newArticleView()
	feed := bus.NewFeed(rt.Log, rt.Bus, contract.ExchangeCatalogChanges, typeArticleChanged)
	deps := StoreDeps{Now: time.Now, Observe: func(c change) {
		view.apply(c)
		broadcast(feed, c)
	}}
	store, err := app.OpenStore(ctx, rt, cfg.MongoDB, func(ctx context.Context, db *mongo.Database) (*Store, error) {
		return NewStore(ctx, db, deps)
	})
	if err != nil {
		return err
	}
	if err := loadView(ctx, store, view, true); err != nil {
		return err
	}
	reload := make(chan struct{}, 1)
	changes := bus.Subscription{Exchange: contract.ExchangeCatalogChanges, OnStart: func() {
		select {
		case reload <- struct{}{}:
		default: // a reload is due already
		}
	}}

	srv := NewServer(Deps{Basics: rt.Basics(), Tokens: rt.Tokens(), Store: store, View: view})
	return rt.Serve(ctx, srv,
		feed.Run,
		app.Consume(rt.Bus, changes, handleArticleChanged(view, store)),
		func(ctx context.Context) error {
			return keepViewCurrent(ctx, rt.Log, store, view, reload, cfg.ViewReload)
		},
		app.Consume(rt.Bus, bus.Subscription{Queue: contract.QueueCatalog, Prefetch: cfg.Prefetch},
			handleCatalogRequest(store, view, rt.Bus)),
		app.Consume(rt.Bus, bus.Subscription{Queue: contract.QueueCatalogOrderPlaced, Prefetch: cfg.Prefetch},
			handleOrderPlaced(rt.Log, store, rt.Bus)),
		app.Consume(rt.Bus, bus.Subscription{Queue: contract.QueueCatalogOrderCancelled, Prefetch: cfg.Prefetch},
			handleOrderCancelled(rt.Log, store)),
	)
}
