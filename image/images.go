package image

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// pixelWorkers bounds the decodes and resizes running at once in one process: they are what
// takes memory (up to 160 MB for a picture at the limits), so they wait their turn.
const pixelWorkers = 2

// Images uploads and serves pictures. Resized variants are computed on first request, once:
// concurrent first requests in this process share one computation, and the result is stored so
// later requests, here or on another instance, only read it back.
type Images struct {
	store *Store
	log   *slog.Logger

	variants singleflight.Group
	pixels   chan struct{} // a slot per running decode or resize
	resized  atomic.Int64  // variants computed since start (tests count them)
}

// NewImages returns the image service on store.
func NewImages(store *Store, log *slog.Logger) *Images {
	return &Images{store: store, log: log, pixels: make(chan struct{}, pixelWorkers)}
}

// Create checks an uploaded data URL and stores the picture under a new id. The bytes must be a
// JPEG or PNG within the limits, whatever type the data URL declares.
func (s *Images) Create(ctx context.Context, dataURL string) (string, error) {
	data, err := parseDataURL(dataURL)
	if err != nil {
		return "", err
	}
	f, err := inspect(data)
	if err != nil {
		return "", err
	}
	// Only a full decode proves the pixel data is whole (not truncated or corrupt).
	err = s.withPixelSlot(ctx, func() error {
		_, err := decodePixels(f, data)
		return err
	})
	if err != nil {
		return "", err
	}
	id := uuid.NewString()
	if err := s.store.AddOriginal(ctx, id, data); err != nil {
		return "", err
	}
	return id, nil
}

// Original returns the picture as uploaded and its format.
func (s *Images) Original(ctx context.Context, id string) ([]byte, format, error) {
	data, err := s.store.Original(ctx, id)
	if err != nil {
		return nil, "", err
	}
	f, ok := sniff(data)
	if !ok {
		return nil, "", fmt.Errorf("image %s: stored bytes are neither JPEG nor PNG", id)
	}
	return data, f, nil
}

// JPEG returns the picture as JPEG bytes, at most width pixels wide; width 0 means full size.
// A JPEG original at full size is returned as uploaded.
func (s *Images) JPEG(ctx context.Context, id string, width int) ([]byte, error) {
	if width == 0 {
		data, f, err := s.Original(ctx, id)
		if err != nil {
			return nil, err
		}
		if f == formatJPEG {
			return data, nil
		}
	}
	// Only a variant not stored yet is computed; a Redis failure is answered as it is.
	data, err := s.store.Variant(ctx, id, width)
	if !errors.Is(err, errs.NotFound) {
		return data, err
	}
	key := s.store.variantKey(id, width)
	v, err, _ := s.variants.Do(key, func() (any, error) {
		// The flight serves every waiting request, so it must outlive the one that started it.
		return s.makeVariant(context.WithoutCancel(ctx), id, width)
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

func (s *Images) makeVariant(ctx context.Context, id string, width int) ([]byte, error) {
	// A flight that finished just before this one began has stored the variant already.
	if data, err := s.store.Variant(ctx, id, width); !errors.Is(err, errs.NotFound) {
		return data, err
	}
	original, err := s.store.Original(ctx, id)
	if err != nil {
		return nil, err
	}
	var data []byte
	err = s.withPixelSlot(ctx, func() error {
		data, err = jpegOf(original, width)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.resized.Add(1)
	if err := s.store.AddVariant(ctx, id, width, data); err != nil {
		return nil, err
	}
	s.log.DebugContext(ctx, "image variant stored", "id", id, "width", width, "bytes", len(data))
	return data, nil
}

// withPixelSlot runs work when a pixel slot is free, or gives up when ctx is done.
func (s *Images) withPixelSlot(ctx context.Context, work func() error) error {
	select {
	case s.pixels <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", errs.Unavailable, ctx.Err())
	}
	defer func() { <-s.pixels }()
	return work()
}
