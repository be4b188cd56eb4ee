package catalog

import (
	"context"
	"fmt"
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

// Run runs the catalog service until ctx is done: its HTTP API on PORT (3002), its consumers of
// the `catalog` and `catalog_order_placed` queues, and the logout listener of its token cache.
// MONGO_DB names its database (default `catalog`); CATALOG_PREFETCH how many messages of each
// queue it handles at once (default 8); CATALOG_VIEW_RELOAD how often its read model of the
// articles is reloaded from the store as a safety net (default 1m).
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := config.Load(opts.Getenv, "3002")
	if err != nil {
		return err
	}
	env := config.Env{Getenv: opts.Getenv}
	prefetch, err := env.Int("CATALOG_PREFETCH", 8)
	if err != nil {
		return err
	}
	viewReload, err := env.Duration("CATALOG_VIEW_RELOAD", time.Minute)
	if err != nil {
		return err
	}
	log := app.Logger(opts, "catalog", cfg.LogLevel)
	log.Info("starting", "config", cfg.Masked())

	m := metrics.New("catalog")
	client, err := mongox.Connect(ctx, cfg.MongoURL, m.StoreRoundTrip)
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	store, err := NewStore(ctx, client.Database(env.String("MONGO_DB", "catalog")))
	if err != nil {
		return err
	}

	b, closeBus, err := app.OpenBus(ctx, opts, cfg.RabbitURL, log, m)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	defer closeBus()

	// The read model: filled before serving, then kept current (see articleView).
	view := newArticleView()
	if err := loadView(ctx, store, view, true); err != nil {
		return err
	}
	feed := bus.NewFeed(log, b, changesExchange, typeArticleChanged)
	store.observe = func(c change) {
		view.apply(c)
		broadcast(feed, c)
	}
	reload := make(chan struct{}, 1)
	changes := bus.Subscription{Exchange: changesExchange, OnStart: func() {
		select {
		case reload <- struct{}{}:
		default: // a reload is due already
		}
	}}

	auth := tokens.NewChecker(cfg.AuthURL, cfg.TokenTTL)
	msgs := messages{log: log, store: store, view: view, pub: b}
	ready := map[string]web.ReadyCheck{"mongo": mongox.Ping(client), "broker": b.Ping}

	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return auth.ListenLogout(ctx, b) })
	g.Go(func() error { return feed.Run(ctx) })
	g.Go(func() error { return b.Consume(ctx, changes, handleArticleChanged(view)) })
	g.Go(func() error { return keepViewCurrent(ctx, log, store, view, reload, viewReload) })
	g.Go(func() error {
		return b.Consume(ctx, bus.Subscription{Queue: "catalog", Prefetch: prefetch}, msgs.handleRequest)
	})
	g.Go(func() error {
		return b.Consume(ctx, bus.Subscription{Queue: "catalog_order_placed", Prefetch: prefetch}, msgs.handleOrderPlaced)
	})
	g.Go(func() error { return web.Serve(ctx, log, cfg.Addr(), NewServer(log, m, store, view, auth, ready)) })
	err = g.Wait()
	log.Info("stopped")
	return err
}
