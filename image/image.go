// Package image is the image service (SPEC §3.2): users upload JPEG or PNG pictures as base64
// data URLs; anyone downloads them, as base64 JSON or as JPEG bytes, at their original size or at
// one of a few widths. Originals and resized variants live in Redis; a variant is computed once.
package image

import (
	"bytes"
	"encoding/base64"
	"errors"
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

// Limits on uploads, checked before any pixel is decoded. The memory a picture decodes to is
// estimated from its header (decodeCost) and may not pass MaxDecodeBytes: that is 40
// megapixels of 8-bit RGBA, 20 of 16-bit or of an interlaced PNG, about 35 of a progressive
// JPEG (as phones write them) and fewer of one at full colour resolution. Anything larger is
// refused from its header alone.
const (
	MaxBytes       = 10 << 20    // decoded size of an upload
	MaxSide        = 10_000      // pixels, width and height each
	MaxPixels      = 40_000_000  // width × height
	MaxDecodeBytes = 160_000_000 // estimated memory to decode one picture
)

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
var errTooManyBytes = errs.Newf(errs.TooLarge, "the image is over %d MiB", MaxBytes>>20).WithCode(errs.CodeImageTooLarge)

// parseDataURL returns the bytes of a "data:<type>;base64,<data>" URL. The declared type is not
// trusted: inspect judges the bytes themselves.
func parseDataURL(s string) ([]byte, error) {
	if s == "" {
		return nil, errs.Field("image", errs.Break(errs.RuleRequired))
	}
	header, payload, ok := strings.Cut(s, ",")
	lower := strings.ToLower(header)
	// A real header is short ("data:image/jpeg;base64"); a long one is not worth reading.
	if !ok || len(header) > 100 || !strings.HasPrefix(lower, "data:") || !strings.HasSuffix(lower, ";base64") {
		return nil, errs.Field("image", errs.Break(errs.RuleDataURL))
	}
	// Refuse an oversized payload before decoding it. DecodedLen counts the padding as data,
	// so it may exceed the true size by up to 2 bytes: hence the slack.
	if base64.StdEncoding.DecodedLen(len(payload)) > MaxBytes+3 {
		return nil, errTooManyBytes
	}
	data, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, errs.Field("image", errs.Break(errs.RuleBase64))
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

// header is what an upload's first bytes tell: its format, size and what decoding it will cost.
type header struct {
	format        format
	width, height int
	orientation   int   // EXIF orientation of a JPEG, 1 (upright) to 8; 1 when absent
	cost          int64 // estimated bytes of memory to decode it (see decodeCost)
}

// inspect checks an upload from its header alone: a JPEG or PNG whose dimensions and decoding
// cost are within the limits. It reads no pixel data, so a decompression bomb costs nothing here.
func inspect(data []byte) (header, error) {
	h, err := readHeader(data)
	if err != nil {
		return header{}, err
	}
	if h.width > MaxSide || h.height > MaxSide || int64(h.width)*int64(h.height) > MaxPixels {
		return header{}, errs.Newf(errs.TooLarge, "the image is %d×%d pixels; the limit is %d per side and %d megapixels",
			h.width, h.height, MaxSide, MaxPixels/1_000_000).WithCode(errs.CodeImageTooManyPixels)
	}
	if h.cost > MaxDecodeBytes {
		return header{}, errs.Newf(errs.TooLarge, "the image is %d×%d pixels, which would take %d MB to decode; the limit is %d MB",
			h.width, h.height, h.cost/1_000_000, MaxDecodeBytes/1_000_000).WithCode(errs.CodeImageTooManyPixels)
	}
	return h, nil
}

// readHeader reads the header of a JPEG or PNG, without judging its size.
func readHeader(data []byte) (header, error) {
	f, ok := sniff(data)
	if !ok {
		return header{}, errs.Field("image", errs.Break(errs.RuleImageFormat))
	}
	decodeConfig := jpeg.DecodeConfig
	if f == formatPNG {
		decodeConfig = png.DecodeConfig
	}
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return header{}, errs.Field("image", errs.Break(errs.RuleImageUnreadable, strings.ToUpper(string(f))))
	}
	h := header{format: f, width: cfg.Width, height: cfg.Height, orientation: 1}
	if h.width < 1 || h.height < 1 {
		return header{}, errs.Field("image", errs.Break(errs.RuleImageEmpty))
	}
	var perPixel float64
	if f == formatPNG {
		perPixel = pngBytesPerPixel(cfg.ColorModel, data)
	} else {
		var layout jpegLayout
		layout, h.orientation = readJPEGLayout(data)
		perPixel = layout.bytesPerPixel()
		if h.orientation > 1 {
			perPixel += 4 // turning it upright makes an NRGBA copy
		}
	}
	h.cost = int64(perPixel * float64(h.width) * float64(h.height))
	return h, nil
}

// pngBytesPerPixel is the memory a PNG of model decodes to per pixel: 16-bit color takes 8
// bytes a pixel (RGBA64, NRGBA64), 8-bit color 4, gray and palettes less. An interlaced PNG is
// decoded pass by pass and then merged, which may hold twice as much.
func pngBytesPerPixel(model color.Model, data []byte) float64 {
	var n float64
	switch model {
	case color.GrayModel:
		n = 1
	case color.Gray16Model:
		n = 2
	case color.RGBA64Model, color.NRGBA64Model:
		n = 8
	default:
		if _, paletted := model.(color.Palette); paletted {
			n = 1
		} else {
			n = 4
		}
	}
	// The IHDR chunk comes first: its last byte, at offset 28, is the interlace method.
	if len(data) > 28 && data[28] == 1 {
		n *= 2
	}
	return n
}

// decodePixels decodes the whole image, which only inspect's checks make safe, and turns a
// JPEG upright as its EXIF orientation says (the JPEGs this service writes carry no EXIF).
func decodePixels(h header, data []byte) (stdimage.Image, error) {
	decode := jpeg.Decode
	if h.format == formatPNG {
		decode = png.Decode
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, errs.Field("image", errs.Break(errs.RuleImageUnreadable, strings.ToUpper(string(h.format))))
	}
	return upright(img, h.orientation), nil
}

// reencode writes img anew in format f: only pixels are kept, so whatever else the upload
// carried (EXIF and GPS metadata, comments, data after the image's end) is not.
func reencode(f format, img stdimage.Image) ([]byte, error) {
	// Written anew, a picture may come out somewhat larger than it came in (a PNG especially,
	// compressed for speed): the stored original may take up to twice the upload limit.
	out := &limitedBuffer{limit: 2 * MaxBytes}
	var err error
	if f == formatPNG {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(out, img)
	} else {
		err = jpeg.Encode(out, img, &jpeg.Options{Quality: originalQuality})
	}
	if errors.Is(err, errTooManyBytes) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("re-encode %s: %w", f, err)
	}
	return out.Bytes(), nil
}

// originalQuality is the JPEG quality of re-encoded originals: higher than the variants', as
// the original is what every variant is made from.
const originalQuality = 92

// limitedBuffer is a bytes.Buffer that refuses to grow past limit bytes.
type limitedBuffer struct {
	bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.limit {
		return 0, errTooManyBytes
	}
	return b.Buffer.Write(p)
}

// jpegOf encodes a stored original, whose header is h, as JPEG, scaled down to width when it is
// wider (width 0: full size). Transparent pixels are laid on white, as JPEG has no transparency.
func jpegOf(h header, original []byte, width int) ([]byte, error) {
	img, err := decodePixels(h, original)
	if err != nil {
		return nil, fmt.Errorf("decode stored original: %w", err)
	}
	if width > 0 && img.Bounds().Dx() > width {
		img = imaging.Resize(img, width, 0, imaging.Lanczos)
	}
	if o, ok := img.(interface{ Opaque() bool }); !ok || !o.Opaque() {
		img = onWhite{img}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return buf.Bytes(), nil
}

// variantCost estimates the memory to make a variant of width pixels of a picture: decoding
// it, plus resizing (an intermediate image width × the original height, and the result).
func variantCost(h header, width int) int64 {
	cost := h.cost
	if width > 0 && width < h.width {
		cost += 8 * int64(width) * int64(h.height)
	}
	return cost
}

// onWhite shows an image laid on a white background, pixel by pixel as the encoder asks, so
// that flattening a large transparent picture does not take a second copy of it in memory.
type onWhite struct{ stdimage.Image }

func (o onWhite) ColorModel() color.Model { return color.RGBAModel }

func (o onWhite) At(x, y int) color.Color {
	r, g, b, a := o.Image.At(x, y).RGBA() // alpha-premultiplied, 16 bits
	white := 0xFFFF - a
	return color.RGBA64{R: uint16(r + white), G: uint16(g + white), B: uint16(b + white), A: 0xFFFF}
}
