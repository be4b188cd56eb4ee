package image

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// Run runs the image service until ctx is done. Besides the common variables it reads
// IMAGE_REDIS_PREFIX, the prefix of its Redis keys (default "image:").
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := config.Load(opts.Getenv, "3001")
	if err != nil {
		return err
	}
	prefix := config.Env{Getenv: opts.Getenv}.String("IMAGE_REDIS_PREFIX", "image:")
	log := app.Logger(opts, "image", cfg.LogLevel)
	log.Info("starting", "config", cfg.Masked(), "redis_prefix", prefix)

	redisOpts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	client := redis.NewClient(redisOpts)
	defer client.Close()

	m := metrics.New("image")
	b, closeBus, err := app.OpenBus(ctx, opts, cfg.RabbitURL, log, m)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	defer closeBus()

	checker := tokens.NewChecker(cfg.AuthURL, cfg.TokenTTL)
	var listening sync.WaitGroup
	listening.Go(func() {
		if err := checker.ListenLogout(ctx, b); err != nil {
			log.Error("logout listener stopped", "err", err)
		}
	})
	defer listening.Wait() // before the bus closes

	store := NewStore(client, prefix)
	ready := map[string]web.ReadyCheck{"redis": store.Ping, "broker": b.Ping}
	return web.Serve(ctx, log, cfg.Addr(), NewServer(log, m, NewImages(store, log), checker, ready))
}
