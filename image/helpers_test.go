package image

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	stdimage "image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// testToken is the bearer token of the signed-in user of every test service.
const testToken = "token-of-a-user"

// testService is the image service's handler on the real Redis, under the test's key prefix.
type testService struct {
	images  *Images
	handler http.Handler
	redis   *redis.Client
	prefix  string
}

func newTestService(t testing.TB) *testService {
	t.Helper()
	client, prefix := testkit.Redis(t)
	auth := testkit.NewAuth(t)
	auth.Add(testToken, "user-1")
	log := testkit.Logger(t)
	if _, ok := t.(*testing.B); ok {
		log = slog.New(slog.DiscardHandler) // a log line per request would skew the figures
	}
	images := NewImages(NewStore(client, prefix), log, UploadLimits{}, time.Now)
	handler := NewServer(Deps{Basics: web.Basics{Log: log, Metrics: metrics.New("image")}, Images: images, Tokens: tokens.NewChecker(auth.URL, time.Minute)})
	return &testService{images: images, handler: handler, redis: client, prefix: prefix}
}

// do serves one request and returns the response.
func (s *testService) do(t testing.TB, method, target string, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := testkit.Request{Method: method, Path: target, Header: map[string]string{}}
	if body != "" {
		r.Body = body
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header[header[i]] = header[i+1]
	}
	return testkit.Serve(t, s.handler, r)
}

// upload posts a data URL as the signed-in user and returns the response.
func (s *testService) upload(t testing.TB, dataURL string) *httptest.ResponseRecorder {
	t.Helper()
	body, err := json.Marshal(map[string]string{"image": dataURL})
	require.NoError(t, err)
	return s.do(t, http.MethodPost, "/images/create", string(body), "Authorization", "Bearer "+testToken)
}

// mustUpload uploads data and returns the new image id.
func (s *testService) mustUpload(t testing.TB, mime string, data []byte) string {
	t.Helper()
	rec := s.upload(t, dataURL(mime, data))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var resp struct{ ID string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	require.NotEmpty(t, resp.ID)
	return resp.ID
}

// get fetches target and returns the body, failing unless it is 200.
func (s *testService) get(t testing.TB, target string, header ...string) []byte {
	t.Helper()
	rec := s.do(t, http.MethodGet, target, "", header...)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return rec.Body.Bytes()
}

// getDataURL fetches a JSON download and returns the bytes of its data URL, which must be of mime.
func (s *testService) getDataURL(t testing.TB, target, mime string, header ...string) []byte {
	t.Helper()
	var got struct{ Image string }
	require.NoError(t, json.Unmarshal(s.get(t, target, header...), &got))
	prefix := "data:" + mime + ";base64,"
	require.True(t, strings.HasPrefix(got.Image, prefix), "want %s, got %.40s", prefix, got.Image)
	data, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(got.Image, prefix))
	require.NoError(t, err)
	return bytes.Clone(data)
}

// keys lists the Redis keys of the test.
func (s *testService) keys(t testing.TB) []string {
	t.Helper()
	keys, err := s.redis.Keys(context.Background(), s.prefix+"*").Result()
	require.NoError(t, err)
	return keys
}

func dataURL(mime string, data []byte) string {
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(data)
}

// photo draws a w×h picture with gradients and detail, like a photo enough to compress like one.
func photo(w, h int) *stdimage.NRGBA {
	img := stdimage.NewNRGBA(stdimage.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: uint8((x ^ y) & 0xff), A: 255})
		}
	}
	return img
}

func encodeJPEG(t testing.TB, img stdimage.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}))
	return buf.Bytes()
}

func encodePNG(t testing.TB, img stdimage.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

func encodeGIF(t testing.TB, img stdimage.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, gif.Encode(&buf, img, nil))
	return buf.Bytes()
}

// decodeJPEG checks that data is a JPEG and returns its size.
func decodeJPEG(t testing.TB, data []byte) stdimage.Point {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	require.NoError(t, err, "not a JPEG")
	return img.Bounds().Size()
}

// bombPNG returns a valid w×h grayscale PNG of black pixels: a few hundred KB that would
// decode to w×h bytes. It is built from one compressed run of zero rows repeated, so making it
// costs little.
func bombPNG(t testing.TB, w, h int) []byte { return zeroPNG(t, w, h, 0, 1) }

// zeroPNG is bombPNG in 8-bit color type colorType (0 gray, 6 RGBA) of channels bytes a pixel:
// an RGBA one decodes to 4 bytes a pixel, all zero (transparent black).
func zeroPNG(t testing.TB, w, h int, colorType byte, channels int) []byte {
	t.Helper()
	const rowsPerRun = 100
	require.Zero(t, h%rowsPerRun)
	rowBytes := w*channels + 1 // a filter byte (0: none) and the pixels' bytes, all zero

	// One run of zero rows, compressed and sync-flushed: a sequence of non-final deflate blocks
	// that can be repeated, as its back-references only ever reach zeros.
	var run bytes.Buffer
	fw, err := flate.NewWriter(&run, flate.BestCompression)
	require.NoError(t, err)
	_, err = fw.Write(make([]byte, rowsPerRun*rowBytes))
	require.NoError(t, err)
	require.NoError(t, fw.Flush())

	var z bytes.Buffer
	z.Write([]byte{0x78, 0xda}) // zlib header, best compression
	for range h / rowsPerRun {
		z.Write(run.Bytes())
	}
	z.Write([]byte{0x01, 0x00, 0x00, 0xff, 0xff}) // final empty stored block
	// Adler-32 of n zero bytes: a stays 1, b adds 1 per byte.
	n := uint32((int64(h) * int64(rowBytes)) % 65521)
	z.Write(binary.BigEndian.AppendUint32(nil, n<<16|1))

	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, colorType, 0, 0, 0) // 8-bit, no interlace
	writeChunk(&out, "IHDR", ihdr)
	writeChunk(&out, "IDAT", z.Bytes())
	writeChunk(&out, "IEND", nil)
	return out.Bytes()
}

// pngHeader returns the start of a w×h PNG of the given bit depth and color type: enough for
// its header to be read, with no pixel data.
func pngHeader(w, h int, depth, colorType byte) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, depth, colorType, 0, 0, 0)
	writeChunk(&out, "IHDR", ihdr)
	return out.Bytes()
}

func writeChunk(out *bytes.Buffer, kind string, data []byte) {
	out.Write(binary.BigEndian.AppendUint32(nil, uint32(len(data))))
	crc := crc32.NewIEEE()
	crc.Write([]byte(kind))
	crc.Write(data)
	out.WriteString(kind)
	out.Write(data)
	out.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32()))
}

// withJPEGSize rewrites the dimensions in a JPEG's frame header, so the header claims w×h
// pixels while the data holds far fewer.
func withJPEGSize(t testing.TB, data []byte, w, h int) []byte {
	t.Helper()
	out := bytes.Clone(data)
	i := bytes.Index(out, []byte{0xff, 0xc0}) // baseline frame header: length, precision, height, width
	require.Positive(t, i)
	binary.BigEndian.PutUint16(out[i+5:], uint16(h))
	binary.BigEndian.PutUint16(out[i+7:], uint16(w))
	return out
}

// convertJPEG is jpegOf on a stored original, reading its header first as the service does.
func convertJPEG(original []byte, width int) ([]byte, error) {
	h, err := readHeader(original)
	if err != nil {
		return nil, err
	}
	return jpegOf(h, original, width)
}

// assertSamePicture checks that data is an image of want's size whose pixels are close to want's
// (a re-encoded JPEG is not byte-exact).
func assertSamePicture(t testing.TB, want stdimage.Image, data []byte) {
	t.Helper()
	got, _, err := stdimage.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, want.Bounds().Size(), got.Bounds().Size())
	var diff, n uint64
	b := want.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r1, g1, b1, _ := want.At(x, y).RGBA()
			r2, g2, b2, _ := got.At(x-b.Min.X+got.Bounds().Min.X, y-b.Min.Y+got.Bounds().Min.Y).RGBA()
			diff += absDiff(r1, r2) + absDiff(g1, g2) + absDiff(b1, b2)
			n += 3
		}
	}
	assert.Less(t, diff/n>>8, uint64(12), "mean difference per channel, out of 255")
}

func absDiff(a, b uint32) uint64 {
	if a > b {
		return uint64(a - b)
	}
	return uint64(b - a)
}
