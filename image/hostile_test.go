package image

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	stdimage "image"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression (issue 14, finding 7): a picture with something hidden after its end, or with
// metadata, is stored re-encoded from its pixels: what is served back is the picture alone.
func TestUploadKeepsOnlyThePicture(t *testing.T) {
	s := newTestService(t)
	img := photo(120, 80)
	const payload = "<html><script>alert('stored as sent')</script></html>"

	polyglot := append(encodePNG(t, img), payload...)
	id := s.mustUpload(t, "image/png", polyglot)
	stored := s.getDataURL(t, "/images/"+id, "image/png")
	assert.NotContains(t, string(stored), "<html", "the trailing HTML is gone")
	assertSamePicture(t, img, stored)

	// A JPEG with an EXIF block holding a GPS note and orientation 6 (turn 90° clockwise).
	withExif := withEXIF(t, encodeJPEG(t, img), 6, "GPSLatitude 40.4168 N, secret place")
	h, err := inspect(withExif)
	require.NoError(t, err)
	require.Equal(t, 6, h.orientation, "the test's EXIF block is read")
	id = s.mustUpload(t, "image/jpeg", append(withExif, payload...))
	stored = s.getDataURL(t, "/images/"+id, "image/jpeg")
	assert.NotContains(t, string(stored), "GPSLatitude", "the metadata is gone")
	assert.NotContains(t, string(stored), "Exif")
	assert.NotContains(t, string(stored), "<html")
	assert.Equal(t, stdimage.Pt(80, 120), decodeJPEG(t, stored), "turned upright, as its EXIF said")
	assert.Equal(t, stored, s.get(t, "/images/"+id+"/jpeg"), "the JPEG download is the stored picture")
}

// withEXIF puts an APP1 Exif segment with the given orientation and a text note after a
// JPEG's start-of-image marker.
func withEXIF(t testing.TB, jpegData []byte, orientation uint16, note string) []byte {
	t.Helper()
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08")            // big-endian TIFF, first IFD at 8
	tiff = binary.BigEndian.AppendUint16(tiff, 1)           // one entry
	tiff = append(tiff, 0x01, 0x12, 0x00, 0x03)             // Orientation, SHORT
	tiff = binary.BigEndian.AppendUint32(tiff, 1)           // count
	tiff = binary.BigEndian.AppendUint16(tiff, orientation) // value
	tiff = append(tiff, 0, 0, 0, 0, 0, 0)                   // padding, no next IFD
	tiff = append(tiff, note...)
	segment := append([]byte("Exif\x00\x00"), tiff...)
	app1 := append([]byte{0xFF, 0xE1}, binary.BigEndian.AppendUint16(nil, uint16(len(segment)+2))...)
	app1 = append(app1, segment...)
	require.True(t, bytes.HasPrefix(jpegData, []byte{0xFF, 0xD8}))
	return append(append([]byte{0xFF, 0xD8}, app1...), jpegData[2:]...)
}

// Regression (issue 14, finding 6): 16 uploads at once of the worst picture within the limits
// (6300×6300 RGBA, 160 MB of pixels from a small file) keep the process under 512 MB: decodes
// wait for their share of the pixel budget instead of all allocating at once. The peak is
// sampled from the runtime's own account of the memory it holds.
// It takes about a minute on two cores, so it runs with HOSTILE_LONG=1 (make hostile);
// TestPixelBudgetBoundsParallelWork checks the mechanism in every run.
func TestParallelUploadsStayWithinMemory(t *testing.T) {
	if os.Getenv("HOSTILE_LONG") == "" {
		t.Skip("decodes 16 pictures of 40 megapixels: set HOSTILE_LONG=1")
	}
	s := newTestService(t)
	worst := zeroPNG(t, 6300, 6300, 6, 4)
	h, err := inspect(worst)
	require.NoError(t, err, "the worst case is within the limits")
	t.Logf("worst case: %d KB file, %d MB to decode", len(worst)>>10, h.cost>>20)
	body, err := json.Marshal(map[string]string{"image": "data:image/png;base64," + base64.StdEncoding.EncodeToString(worst)})
	require.NoError(t, err)

	runtime.GC()
	peak, stop := sampleMemory()
	const uploads = 16
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range uploads {
		wg.Go(func() {
			rec := s.do(t, http.MethodPost, "/images/create", string(body), "Authorization", "Bearer "+testToken)
			if rec.Code == http.StatusOK {
				ok.Add(1)
			} else {
				t.Errorf("upload: %d %s", rec.Code, rec.Body.String())
			}
		})
	}
	wg.Wait()
	stop()
	t.Logf("%d parallel uploads: peak %d MB held by the Go runtime", uploads, peak()>>20)
	assert.Equal(t, int32(uploads), ok.Load())
	assert.Less(t, peak(), uint64(512<<20))
}

// The pixel budget lets small pictures be worked on together and a picture at the limits alone.
func TestPixelBudgetBoundsParallelWork(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cost    int64
		maxHeld int64
	}{
		{"pictures at the limit", MaxDecodeBytes, 1},
		{"pictures of a tenth of it", MaxDecodeBytes / 10, 10},
		{"more than the budget", 3 * MaxDecodeBytes, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			images := NewImages(nil, nil, UploadLimits{}, time.Now)
			var running, most atomic.Int64
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					err := images.withPixels(t.Context(), tt.cost, func() error {
						n := running.Add(1)
						for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
						}
						time.Sleep(5 * time.Millisecond) // let the others try to start
						running.Add(-1)
						return nil
					})
					assert.NoError(t, err)
				})
			}
			wg.Wait()
			assert.LessOrEqual(t, most.Load(), tt.maxHeld, "most pictures worked on at once")
			if tt.maxHeld > 1 {
				assert.Greater(t, most.Load(), int64(1), "small pictures share the budget")
			}
		})
	}
}

// sampleMemory samples every few milliseconds the memory the Go runtime holds from the system
// (all of it, less what it has given back), until stop is called; peak returns the highest.
func sampleMemory() (peak func() uint64, stop func()) {
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	var highest atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			held := samples[0].Value.Uint64() - samples[1].Value.Uint64()
			if held > highest.Load() {
				highest.Store(held)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return highest.Load, func() { close(done); <-finished }
}
