package image

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// Store keeps images in Redis under a key prefix: the original as uploaded at <prefix><id>, and
// each JPEG variant at <prefix><id>:<width> (<prefix><id>:full for a PNG original as JPEG).
// Keys never expire and are written once (SET NX), as images never change.
//
// It uses only GET, SET NX and PING, which the all-in-one launcher's embedded Redis also serves.
type Store struct {
	client *redis.Client
	prefix string
}

// NewStore returns a Store on client with keys under prefix (e.g. "image:").
func NewStore(client *redis.Client, prefix string) *Store {
	return &Store{client: client, prefix: prefix}
}

func (s *Store) originalKey(id string) string { return s.prefix + id }

func (s *Store) variantKey(id string, width int) string {
	if width == 0 {
		return s.prefix + id + ":full"
	}
	return s.prefix + id + ":" + strconv.Itoa(width)
}

// AddOriginal stores the original bytes of a new image.
func (s *Store) AddOriginal(ctx context.Context, id string, data []byte) error {
	added, err := s.client.SetNX(ctx, s.originalKey(id), data, 0).Result()
	if err != nil {
		return fmt.Errorf("%w: redis: %w", errs.Unavailable, err)
	}
	if !added {
		return errs.Newf(errs.Conflict, "image %s already exists", id)
	}
	return nil
}

// Original returns the original bytes of image id, or errs.NotFound.
func (s *Store) Original(ctx context.Context, id string) ([]byte, error) {
	return s.get(ctx, s.originalKey(id))
}

// Variant returns the JPEG of image id at width (0: full size), or errs.NotFound when it has not
// been computed yet.
func (s *Store) Variant(ctx context.Context, id string, width int) ([]byte, error) {
	return s.get(ctx, s.variantKey(id, width))
}

// AddVariant stores the JPEG of image id at width. When another request or instance stored it
// first, that one is kept: both are the same picture.
func (s *Store) AddVariant(ctx context.Context, id string, width int, data []byte) error {
	if err := s.client.SetNX(ctx, s.variantKey(id, width), data, 0).Err(); err != nil {
		return fmt.Errorf("%w: redis: %w", errs.Unavailable, err)
	}
	return nil
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.client.Ping(ctx).Err() }

func (s *Store) get(ctx context.Context, key string) ([]byte, error) {
	data, err := s.client.Get(ctx, key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		// Worded "<kind>: <detail>" so that clients read "no such image" (web.Error keeps
		// the detail alone), not a bare "image".
		return nil, errs.Newf(errs.NotFound, "no such image")
	case err != nil:
		return nil, fmt.Errorf("%w: redis: %w", errs.Unavailable, err)
	}
	return data, nil
}
