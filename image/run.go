package image

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Config is the image service's configuration: the common variables and its own.
type Config struct {
	config.Common
	RedisPrefix string // IMAGE_REDIS_PREFIX, the prefix of its Redis keys (default "image:")
}

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv config.Getenv) (Config, error) {
	common, err := config.Load(getenv, "3001")
	if err != nil {
		return Config{}, err
	}
	return Config{Common: common, RedisPrefix: config.Env{Getenv: getenv}.String("IMAGE_REDIS_PREFIX", "image:")}, nil
}

// Run runs the image service until ctx is done: its HTTP API and the logout listener of its
// token cache.
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := LoadConfig(opts.Getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := app.Logger(opts, "image", cfg.LogLevel)
	log.Info("starting", "config", cfg.Masked(), "redis_prefix", cfg.RedisPrefix)

	redisOpts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	client := redis.NewClient(redisOpts)
	defer client.Close()
	store := NewStore(client, cfg.RedisPrefix)

	m := metrics.New("image")
	b, closeBus, err := app.OpenBus(ctx, opts, cfg.RabbitURL, log, m)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	defer closeBus()

	checker := tokens.NewChecker(cfg.AuthURL, cfg.TokenTTL)
	srv := NewServer(Deps{
		Log: log, Metrics: m, Tokens: checker, Images: NewImages(store, log),
		Ready: map[string]web.ReadyCheck{"redis": store.Ping, "broker": b.Ping, "logout": checker.Ready},
	})
	return app.Serve(ctx,
		func(ctx context.Context) error { return web.Serve(ctx, log, cfg.Addr(), srv) },
		func(ctx context.Context) error { return checker.ListenLogout(ctx, b) },
	)
}
