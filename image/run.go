package image

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/config"
)

// Config is the image service's configuration: the common variables and its own.
type Config struct {
	config.Common
	RedisPrefix string // IMAGE_REDIS_PREFIX, the prefix of its Redis keys (default "image:")
	// Upload quotas per user: IMAGE_UPLOADS_PER_HOUR (default 60) and IMAGE_UPLOAD_MB_PER_HOUR
	// (default 100); 0 turns one off.
	Uploads UploadLimits
}

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv config.Getenv) (Config, error) {
	common, err := config.Load(getenv, config.DefaultPort("image"))
	if err != nil {
		return Config{}, err
	}
	e := config.Env{Getenv: getenv}
	c := Config{Common: common, RedisPrefix: e.String("IMAGE_REDIS_PREFIX", "image:")}
	perHour, err := e.Int("IMAGE_UPLOADS_PER_HOUR", int(DefaultUploadLimits.PerHour))
	if err != nil {
		return c, err
	}
	mbPerHour, err := e.Int("IMAGE_UPLOAD_MB_PER_HOUR", int(DefaultUploadLimits.MBPerHour))
	if err != nil {
		return c, err
	}
	if perHour < 0 {
		return c, errors.New("IMAGE_UPLOADS_PER_HOUR must be 0 (off) or positive")
	}
	if mbPerHour < 0 || mbPerHour > 1<<30 {
		return c, errors.New("IMAGE_UPLOAD_MB_PER_HOUR must be 0 (off) or positive, at most 2^30")
	}
	c.Uploads = UploadLimits{PerHour: int64(perHour), MBPerHour: int64(mbPerHour)}
	return c, nil
}

// Run runs the image service until ctx is done: its HTTP API and the logout listener of its
// token cache.
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := LoadConfig(opts.Getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	rt, err := app.Start(ctx, opts, "image", cfg.Common,
		"redis_url", config.Mask(cfg.RedisURL), "redis_prefix", cfg.RedisPrefix,
		"uploads_per_hour", cfg.Uploads.PerHour, "upload_mb_per_hour", cfg.Uploads.MBPerHour)
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

	srv := NewServer(Deps{Basics: rt.Basics(), Tokens: rt.Tokens(), Images: NewImages(store, rt.Log, cfg.Uploads, time.Now)})
	return rt.Serve(ctx, srv)
}
