package image

import (
	"bytes"
	"errors"
	stdimage "image"
	"image/color"
	"image/jpeg"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

func TestParseSize(t *testing.T) {
	tests := map[string]int{
		"160": 160, "320": 320, "640": 640, "800": 800, "1024": 1024, "1200": 1200, " 320 ": 320,
		"": 0, "0": 0, "100": 0, "161": 0, "2400": 0, "-160": 0, "abc": 0, "160px": 0, "1e3": 0,
	}
	for in, want := range tests {
		assert.Equal(t, want, parseSize(in), "size %q", in)
	}
}

func TestInspectJudgesTheBytes(t *testing.T) {
	small := photo(40, 30)
	jpegData, pngData := encodeJPEG(t, small), encodePNG(t, small)

	h, err := inspect(jpegData)
	require.NoError(t, err)
	assert.Equal(t, formatJPEG, h.format)
	h, err = inspect(pngData)
	require.NoError(t, err)
	assert.Equal(t, formatPNG, h.format)

	_, err = inspect(encodeGIF(t, small))
	assert.ErrorIs(t, err, errs.Invalid, "a GIF")
	_, err = inspect([]byte("\xff\xd8\xff but then nothing of a JPEG"))
	assert.ErrorIs(t, err, errs.Invalid, "a JPEG signature alone")
	_, err = inspect(withJPEGSize(t, jpegData, 30_000, 30_000))
	assert.ErrorIs(t, err, errs.TooLarge, "900 megapixels")
	_, err = inspect(withJPEGSize(t, jpegData, 12_000, 100))
	assert.ErrorIs(t, err, errs.TooLarge, "a side over the limit")
	_, err = inspect(withJPEGSize(t, jpegData, 8_000, 8_000))
	assert.ErrorIs(t, err, errs.TooLarge, "64 megapixels, each side within the limit")
	_, err = inspect(withJPEGSize(t, jpegData, 6_000, 6_000))
	assert.NoError(t, err, "36 megapixels pass the header check")
}

// The pixel limit depends on the memory a pixel decodes to: 16-bit color PNGs take 8 bytes a
// pixel, so at 40 megapixels they would decode to 320 MB, twice the budget.
func TestInspectCountsDecodedBytes(t *testing.T) {
	tests := []struct {
		name             string
		w, h             int
		depth, colorType byte // PNG bit depth and color type (0 gray, 2 RGB, 4 gray+alpha, 6 RGBA)
		tooLarge         bool
	}{
		{"8-bit RGBA, 36 MP", 6_000, 6_000, 8, 6, false},
		{"16-bit gray, 36 MP", 6_000, 6_000, 16, 0, false},
		{"16-bit RGBA, 20 MP", 5_000, 4_000, 16, 6, false},
		{"16-bit RGBA, 30 MP", 6_000, 5_000, 16, 6, true},
		{"16-bit RGB, 30 MP", 6_000, 5_000, 16, 2, true},
		{"16-bit gray+alpha, 30 MP", 6_000, 5_000, 16, 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := inspect(pngHeader(tt.w, tt.h, tt.depth, tt.colorType))
			if tt.tooLarge {
				assert.ErrorIs(t, err, errs.TooLarge)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

// A decompression bomb is refused from its header: checking it allocates next to nothing,
// although decoding it would take 400 MB.
func TestDecompressionBombIsNotDecoded(t *testing.T) {
	bomb := bombPNG(t, 20_000, 20_000)
	require.Less(t, len(bomb), 1<<20, "the bomb is small")

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := inspect(bomb)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, errs.TooLarge)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated to inspect the bomb")
}

// The bomb helper must make a real PNG, or the test above proves nothing.
func TestBombPNGIsAValidPNG(t *testing.T) {
	small := bombPNG(t, 300, 200)
	img, err := decodePixels(header{format: formatPNG}, small)
	require.NoError(t, err)
	assert.Equal(t, stdimage.Pt(300, 200), img.Bounds().Size())
	assert.Equal(t, color.Gray{Y: 0}, img.At(150, 100))
}

func TestParseDataURL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []byte
		err  error
	}{
		{"jpeg", "data:image/jpeg;base64,AQID", []byte{1, 2, 3}, nil},
		{"any declared type", "data:text/plain;base64,AQID", []byte{1, 2, 3}, nil},
		{"letter case", "DATA:image/png;BASE64,AQID", []byte{1, 2, 3}, nil},
		{"empty", "", nil, errs.Invalid},
		{"no prefix", "AQID", nil, errs.Invalid},
		{"not base64 encoded", "data:image/png,AQID", nil, errs.Invalid},
		{"bad base64", "data:image/png;base64,@@@", nil, errs.Invalid},
		{"truncated base64", "data:image/png;base64,AQI", nil, errs.Invalid},
		{"over the limit", "data:image/png;base64," + string(bytes.Repeat([]byte("A"), MaxBytes/3*4+8)), nil, errs.TooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDataURL(tt.in)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestJPEGOf(t *testing.T) {
	landscape := encodeJPEG(t, photo(1200, 800))

	out, err := convertJPEG(landscape, 320)
	require.NoError(t, err)
	assert.Equal(t, stdimage.Pt(320, 213), decodeJPEG(t, out), "width asked for, aspect kept")

	out, err = convertJPEG(encodePNG(t, photo(300, 150)), 640)
	require.NoError(t, err)
	assert.Equal(t, stdimage.Pt(300, 150), decodeJPEG(t, out), "never upscaled")

	out, err = convertJPEG(encodePNG(t, photo(500, 1000)), 0)
	require.NoError(t, err)
	assert.Equal(t, stdimage.Pt(500, 1000), decodeJPEG(t, out), "full size")
}

func TestJPEGOfLaysTransparencyOnWhite(t *testing.T) {
	transparent := stdimage.NewNRGBA(stdimage.Rect(0, 0, 50, 50)) // every pixel transparent black
	out, err := convertJPEG(encodePNG(t, transparent), 0)
	require.NoError(t, err)
	img, err := jpeg.Decode(bytes.NewReader(out))
	require.NoError(t, err)
	r, g, b, _ := img.At(25, 25).RGBA()
	assert.Greater(t, min(r, g, b), uint32(0xf000), "a transparent pixel becomes white, not black")
}

// The course's web client shows a message beside the field the API names.
func TestUploadProblemsNameTheImageField(t *testing.T) {
	_, err := parseDataURL("AQID")
	var v *errs.Validation
	require.True(t, errors.As(err, &v))
	assert.Equal(t, "image", v.Problems[0].Path)
	assert.NotErrorIs(t, err, errs.TooLarge)
}
