package image

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/quota"
)

// pixelBudget bounds the memory that the decodes and resizes running at once in one process may
// take, as estimated from their headers: they are what takes memory (up to MaxDecodeBytes for
// a picture at the limits), so they wait their turn. Small pictures share it; a picture at the
// limits has it alone. With the garbage a finished decode leaves until the next collection,
// the process stays within about three times the budget (see the README's figures).
const pixelBudget = MaxDecodeBytes

// The bounds of the in-memory cache of variants: 16 MiB in all (a few thousand thumbnails),
// none over 512 KiB (large variants are rarely asked for often; Redis serves them).
const (
	variantCacheBytes = 16 << 20
	variantCacheEntry = 512 << 10
)

// UploadLimits are the quotas of each user's uploads (SPEC §2), per hour; 0 turns one off.
type UploadLimits struct {
	PerHour   int64 // IMAGE_UPLOADS_PER_HOUR: uploads
	MBPerHour int64 // IMAGE_UPLOAD_MB_PER_HOUR: MB (MiB, 2^20 bytes) of uploaded image bytes
}

// DefaultUploadLimits are SPEC §2's defaults.
var DefaultUploadLimits = UploadLimits{PerHour: 60, MBPerHour: 100}

// charges are what an upload of size bytes costs against the limits.
func (l UploadLimits) charges(size int) []quota.Charge {
	return []quota.Charge{
		{Limit: quota.Limit{Name: "uploads", Max: l.PerHour, Per: time.Hour}, Amount: 1},
		{Limit: quota.Limit{Name: "upload_bytes", Max: l.MBPerHour << 20, Per: time.Hour,
			Text: fmt.Sprintf("%d MB of uploads per hour", l.MBPerHour)}, Amount: int64(size)},
	}
}

// Images uploads and serves pictures. Resized variants are computed on first request, once:
// concurrent first requests in this process share one computation, and the result is stored so
// later requests, here or on another instance, only read it back.
type Images struct {
	store  *Store
	log    *slog.Logger
	limits UploadLimits
	quotas *quota.Counter // counts every user's uploads where every instance sees them

	variants singleflight.Group
	cache    *variantCache       // recently served variants (see variantCache)
	pixels   *semaphore.Weighted // bytes of pixelBudget held by running decodes and resizes
	resized  atomic.Int64        // variants computed since start (tests count them)
}

// NewImages returns the image service on store, counting uploads against limits in the
// store's Redis at the time now tells.
func NewImages(store *Store, log *slog.Logger, limits UploadLimits, now func() time.Time) *Images {
	s := &Images{store: store, log: log, limits: limits, pixels: semaphore.NewWeighted(pixelBudget),
		cache: newVariantCache(variantCacheBytes, variantCacheEntry)}
	if store != nil {
		s.quotas = quota.NewCounter(store.client, store.prefix, now)
	}
	return s
}

// Create checks a data URL uploaded by user userID and stores the picture under a new id. The
// bytes must be a JPEG or PNG within the limits, whatever type the data URL declares. The
// picture is stored re-encoded, in its own format, from its pixels alone: metadata (such as GPS
// positions) and anything hidden after or inside it are dropped, so what is served back is an
// image and nothing else.
//
// The upload counts against the user's quotas once its header has passed the cheap checks,
// before the costly decoding: an upload that fails later still counted, as its work was done.
// One past a quota is refused (errs.RateLimited) without being decoded or stored.
func (s *Images) Create(ctx context.Context, userID, dataURL string) (string, error) {
	data, err := parseDataURL(dataURL)
	if err != nil {
		return "", err
	}
	h, err := inspect(data)
	if err != nil {
		return "", err
	}
	if err := s.quotas.Take(ctx, userID, s.limits.charges(len(data))...); err != nil {
		return "", err
	}
	err = s.withPixels(ctx, h.cost, func() error {
		// The full decode also proves the pixel data whole (not truncated or corrupt).
		img, err := decodePixels(h, data)
		if err != nil {
			return err
		}
		data, err = reencode(h.format, img)
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
	key := s.store.variantKey(id, width)
	if data, ok := s.cache.get(key); ok {
		return data, nil
	}
	// Only a variant not stored yet is computed; a Redis failure is answered as it is.
	data, err := s.store.Variant(ctx, id, width)
	if err == nil {
		s.cache.put(key, data)
	}
	if !errors.Is(err, errs.NotFound) {
		return data, err
	}
	v, err, _ := s.variants.Do(key, func() (any, error) {
		// The flight serves every waiting request, so it must outlive the one that started it.
		return s.makeVariant(context.WithoutCancel(ctx), id, width)
	})
	if err != nil {
		return nil, err
	}
	s.cache.put(key, v.([]byte))
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
	h, err := readHeader(original)
	if err != nil {
		return nil, fmt.Errorf("image %s: stored original: %w", id, err)
	}
	var data []byte
	err = s.withPixels(ctx, variantCost(h, width), func() error {
		data, err = jpegOf(h, original, width)
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

// withPixels runs work once cost bytes of the pixel budget are free (the whole budget when cost
// is more), or gives up when ctx is done.
func (s *Images) withPixels(ctx context.Context, cost int64, work func() error) error {
	cost = min(max(cost, 1), pixelBudget)
	if err := s.pixels.Acquire(ctx, cost); err != nil {
		return fmt.Errorf("%w: %w", errs.Unavailable, err)
	}
	defer s.pixels.Release(cost)
	err := work()
	if cost > pixelBudget/4 {
		// Collect the large picture's garbage now, before the next decode allocates as much
		// again: left to the usual pacing, the heap may grow to twice the budget first. It
		// costs a few milliseconds after seconds of decoding.
		runtime.GC()
	}
	return err
}
