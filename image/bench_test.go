package image

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkDownloadCached160 serves a stored 160-pixel variant through the whole HTTP stack
// (middleware, one Redis GET).
func BenchmarkDownloadCached160(b *testing.B) {
	s := newTestService(b)
	id := s.mustUpload(b, "image/jpeg", encodeJPEG(b, photo(1200, 800)))
	target := "/images/" + id + "/jpeg?size=160"
	thumb := s.get(b, target)
	b.SetBytes(int64(len(thumb)))
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkResizeCold1200 makes a variant of a 1200-pixel-wide JPEG from scratch: decode,
// resize, encode — what a first request for a size costs before the Redis write.
func BenchmarkResizeCold1200(b *testing.B) {
	original := encodeJPEG(b, photo(1200, 800))
	for _, width := range []int{160, 640} {
		b.Run(fmt.Sprint(width), func(b *testing.B) {
			for b.Loop() {
				if _, err := convertJPEG(original, width); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
