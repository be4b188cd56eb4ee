// Package image is the image service (SPEC §3.2): users upload JPEG or PNG pictures as base64
// data URLs; anyone downloads them, as base64 JSON or as JPEG bytes, at their original size or at
// one of a few widths. Originals and resized variants live in Redis; a variant is computed once.
package image

import (
	"bytes"
	"encoding/base64"
	"fmt"
	stdimage "image" // the standard library's package; this package shares its name
	"image/color"
	"image/jpeg"
	"image/png"
	"slices"
	"strconv"
	"strings"

	"github.com/disintegration/imaging"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// Limits on uploads, checked before any pixel is decoded. A 40-megapixel image of 8 bits per
// channel decodes to at most 160 MB of pixels; one of 16 bits per channel takes twice as much
// memory per pixel, so it may have only half as many. Anything larger is refused from its
// header alone.
const (
	MaxBytes  = 10 << 20   // decoded size of an upload
	MaxSide   = 10_000     // pixels, width and height each
	MaxPixels = 40_000_000 // width × height, at 8 bits per channel
)

// pixelLimit is the most pixels a picture whose header announces model may have: 16-bit color
// decodes to 8 bytes a pixel (RGBA64, NRGBA64) where every other model takes at most 4.
func pixelLimit(model color.Model) int64 {
	if model == color.RGBA64Model || model == color.NRGBA64Model {
		return MaxPixels / 2
	}
	return MaxPixels
}

// maxBodyBytes bounds the JSON body of an upload: the base64 of MaxBytes, plus room for the
// data URL prefix and the JSON around it.
const maxBodyBytes = (MaxBytes+2)/3*4 + 4<<10

// sizes are the widths a picture can be asked for; any other value gives the original.
var sizes = []int{160, 320, 640, 800, 1024, 1200}

// jpegQuality is the quality of every JPEG this service encodes.
const jpegQuality = 85

// format is the kind of a stored original, judged from its bytes.
type format string

const (
	formatJPEG format = "jpeg"
	formatPNG  format = "png"
)

// parseSize turns a requested size into one of sizes, or 0 (the original) for anything else.
func parseSize(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || !slices.Contains(sizes, n) {
		return 0
	}
	return n
}

// errTooManyBytes refuses an upload over MaxBytes.
var errTooManyBytes = errs.Newf(errs.TooLarge, "the image is over %d MiB", MaxBytes>>20)

// parseDataURL returns the bytes of a "data:<type>;base64,<data>" URL. The declared type is not
// trusted: inspect judges the bytes themselves.
func parseDataURL(s string) ([]byte, error) {
	if s == "" {
		return nil, errs.Fieldf("image", "is required")
	}
	header, payload, ok := strings.Cut(s, ",")
	lower := strings.ToLower(header)
	// A real header is short ("data:image/jpeg;base64"); a long one is not worth reading.
	if !ok || len(header) > 100 || !strings.HasPrefix(lower, "data:") || !strings.HasSuffix(lower, ";base64") {
		return nil, errs.Fieldf("image", "must be a data URL: data:image/jpeg;base64,... or data:image/png;base64,...")
	}
	// Refuse an oversized payload before decoding it. DecodedLen counts the padding as data,
	// so it may exceed the true size by up to 2 bytes: hence the slack.
	if base64.StdEncoding.DecodedLen(len(payload)) > MaxBytes+3 {
		return nil, errTooManyBytes
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, errs.Fieldf("image", "is not valid base64")
	}
	if len(data) > MaxBytes {
		return nil, errTooManyBytes
	}
	return data, nil
}

// sniff tells a JPEG or PNG from its first bytes.
func sniff(data []byte) (format, bool) {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return formatJPEG, true
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return formatPNG, true
	}
	return "", false
}

// inspect checks an upload from its header alone: a JPEG or PNG whose dimensions are within the
// limits. It reads no pixel data, so a decompression bomb costs nothing here.
func inspect(data []byte) (format, error) {
	f, ok := sniff(data)
	if !ok {
		return "", errs.Fieldf("image", "must be a JPEG or PNG image")
	}
	decodeConfig := jpeg.DecodeConfig
	if f == formatPNG {
		decodeConfig = png.DecodeConfig
	}
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", errs.Fieldf("image", "is not a readable %s image", strings.ToUpper(string(f)))
	}
	w, h := cfg.Width, cfg.Height
	if w < 1 || h < 1 {
		return "", errs.Fieldf("image", "has no pixels")
	}
	if limit := pixelLimit(cfg.ColorModel); w > MaxSide || h > MaxSide || int64(w)*int64(h) > limit {
		return "", errs.Newf(errs.TooLarge, "the image is %d×%d pixels; the limit is %d per side and %d megapixels",
			w, h, MaxSide, limit/1_000_000)
	}
	return f, nil
}

// decodePixels decodes the whole image, which only inspect's checks make safe.
func decodePixels(f format, data []byte) (stdimage.Image, error) {
	decode := jpeg.Decode
	if f == formatPNG {
		decode = png.Decode
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, errs.Fieldf("image", "is not a readable %s image", strings.ToUpper(string(f)))
	}
	return img, nil
}

// jpegOf encodes a stored original as JPEG, scaled down to width when it is wider (width 0:
// full size). The EXIF orientation is applied, as the JPEG written carries no EXIF; transparent
// pixels are laid on white, as JPEG has no transparency.
func jpegOf(original []byte, width int) ([]byte, error) {
	img, err := imaging.Decode(bytes.NewReader(original), imaging.AutoOrientation(true))
	if err != nil {
		return nil, fmt.Errorf("decode stored original: %w", err)
	}
	if width > 0 && img.Bounds().Dx() > width {
		img = imaging.Resize(img, width, 0, imaging.Lanczos)
	}
	if o, ok := img.(interface{ Opaque() bool }); !ok || !o.Opaque() {
		b := img.Bounds()
		img = imaging.Overlay(imaging.New(b.Dx(), b.Dy(), color.White), img, stdimage.Point{}, 1)
	}
	var buf bytes.Buffer
	if err := imaging.Encode(&buf, img, imaging.JPEG, imaging.JPEGQuality(jpegQuality)); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return buf.Bytes(), nil
}
