package web

import (
	"context"
	"fmt"
	"sync"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	pkgweb "github.com/ecommerce-go/ecommerce/pkg/web"
	"github.com/ecommerce-go/ecommerce/web/api"
)

// Run runs the storefront until ctx is done: the HTML pages on PORT (default 8080), talking to
// the five services at their *_SERVICE_URL, and the logout listener of its token cache.
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := config.Load(opts.Getenv, "8080")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := app.Logger(opts, "web", cfg.LogLevel)
	log.Info("starting", "config", cfg.Masked(), "image_service_url", cfg.ImageURL,
		"cart_service_url", cfg.CartURL, "orders_service_url", cfg.OrdersURL)

	m := metrics.New("web")
	b, closeBus, err := app.OpenBus(ctx, opts, cfg.RabbitURL, log, m)
	if err != nil {
		return fmt.Errorf("bus: %w", err)
	}
	defer closeBus()

	checker := tokens.NewChecker(cfg.AuthURL, cfg.TokenTTL)
	client := api.New(api.URLs{Auth: cfg.AuthURL, Image: cfg.ImageURL, Catalog: cfg.CatalogURL,
		Cart: cfg.CartURL, Orders: cfg.OrdersURL})

	// The logout listener stops after the HTTP server has finished its in-flight requests.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := checker.ListenLogout(bgCtx, b); err != nil && bgCtx.Err() == nil {
			log.Error("background task stopped", "task", "logout", "err", err)
		}
	})

	// The storefront is ready when its broker answers; a service that is down makes only the
	// pages that need it answer 503, so it is not a readiness check.
	checks := map[string]pkgweb.ReadyCheck{"broker": b.Ping}
	err = pkgweb.Serve(ctx, log, cfg.Addr(), NewServer(log, m, checks, checker, client))
	stopBackground()
	wg.Wait()
	return err
}
