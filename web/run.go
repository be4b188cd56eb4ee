package web

import (
	"context"
	"fmt"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/web/api"
)

// Config is the storefront's configuration: the common variables (PORT, default 8080, and the
// *_SERVICE_URL of the five services it talks to).
type Config struct {
	config.Common
}

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv config.Getenv) (Config, error) {
	common, err := config.Load(getenv, config.DefaultPort("web"))
	return Config{Common: common}, err
}

// Run runs the storefront until ctx is done: the HTML pages, talking to the five services at
// their *_SERVICE_URL, and the logout listener of its token cache.
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := LoadConfig(opts.Getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	rt, err := app.Start(ctx, opts, "web", cfg.Common, "image_service_url", cfg.ImageURL,
		"cart_service_url", cfg.CartURL, "orders_service_url", cfg.OrdersURL)
	if err != nil {
		return err
	}
	defer rt.Close()

	// A service that is down makes only the pages that need it answer 503, so the five services
	// are not among the readiness checks: the broker and the logout subscription are.
	client := api.New(api.URLs{Auth: cfg.AuthURL, Image: cfg.ImageURL, Catalog: cfg.CatalogURL,
		Cart: cfg.CartURL, Orders: cfg.OrdersURL})
	srv := NewServer(Deps{Basics: rt.Basics(), Tokens: rt.Tokens(), Client: client})
	return rt.Serve(ctx, srv)
}
