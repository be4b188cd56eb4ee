package image

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/config"
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
	rt, err := app.Start(ctx, opts, "image", cfg.Common, "redis_prefix", cfg.RedisPrefix)
	if err != nil {
		return err
	}
	defer rt.Close()

	redisOpts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	client := redis.NewClient(redisOpts)
	defer client.Close()
	store := NewStore(client, cfg.RedisPrefix)
	rt.Ready("redis", store.Ping)

	srv := NewServer(Deps{Basics: rt.Basics(), Tokens: rt.Tokens(), Images: NewImages(store, rt.Log)})
	return rt.Serve(ctx, srv)
}
