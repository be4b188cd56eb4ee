package image

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	stdimage "image"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

func TestUploadRefusesBadInput(t *testing.T) {
	s := newTestService(t)
	small := photo(64, 48)
	jpegData, pngData := encodeJPEG(t, small), encodePNG(t, small)
	imageBody := func(url string) string {
		b, _ := json.Marshal(map[string]string{"image": url})
		return string(b)
	}
	bearer := "Bearer " + testToken

	tests := []struct {
		name   string
		body   string
		auth   string
		status int
	}{
		{"no token", imageBody(dataURL("image/jpeg", jpegData)), "", http.StatusUnauthorized},
		{"unknown token", imageBody(dataURL("image/jpeg", jpegData)), "Bearer nobody", http.StatusUnauthorized},
		{"malformed JSON", `{"image":`, bearer, http.StatusBadRequest},
		{"image not a string", `{"image":5}`, bearer, http.StatusBadRequest},
		{"no image", `{}`, bearer, http.StatusBadRequest},
		{"missing data URL prefix", imageBody(base64.StdEncoding.EncodeToString(jpegData)), bearer, http.StatusBadRequest},
		{"bad base64", imageBody("data:image/jpeg;base64,/9j/4AAQ***"), bearer, http.StatusBadRequest},
		{"GIF", imageBody(dataURL("image/gif", encodeGIF(t, small))), bearer, http.StatusBadRequest},
		{"GIF declared as PNG", imageBody(dataURL("image/png", encodeGIF(t, small))), bearer, http.StatusBadRequest},
		{"text declared as PNG", imageBody(dataURL("image/png", []byte("hello, world"))), bearer, http.StatusBadRequest},
		{"truncated JPEG", imageBody(dataURL("image/jpeg", jpegData[:len(jpegData)/2])), bearer, http.StatusBadRequest},
		{"truncated PNG", imageBody(dataURL("image/png", pngData[:len(pngData)/2])), bearer, http.StatusBadRequest},
		{"JPEG header claiming 30000×30000", imageBody(dataURL("image/jpeg", withJPEGSize(t, jpegData, 30_000, 30_000))), bearer, http.StatusRequestEntityTooLarge},
		{"PNG decompression bomb", imageBody(dataURL("image/png", bombPNG(t, 20_000, 20_000))), bearer, http.StatusRequestEntityTooLarge},
		{"over 10 MiB decoded", imageBody(dataURL("image/jpeg", make([]byte, MaxBytes+1024))), bearer, http.StatusRequestEntityTooLarge},
		{"body far over the limit", imageBody(dataURL("image/jpeg", make([]byte, MaxBytes+1<<20))), bearer, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := s.do(t, http.MethodPost, "/images/create", tt.body, "Authorization", tt.auth)
			assert.Equal(t, tt.status, rec.Code, rec.Body.String())
			var body struct{ Error string }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.NotEmpty(t, body.Error)
			assert.Empty(t, s.keys(t), "nothing stored")
		})
	}

	// The service keeps serving after all of that.
	s.mustUpload(t, "image/jpeg", jpegData)
}

// Checking a decompression bomb's upload takes little memory: the pixels are never decoded.
func TestUploadDecompressionBombTakesLittleMemory(t *testing.T) {
	s := newTestService(t)
	body, err := json.Marshal(map[string]string{"image": dataURL("image/png", bombPNG(t, 20_000, 20_000))})
	require.NoError(t, err)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rec := s.do(t, http.MethodPost, "/images/create", string(body), "Authorization", "Bearer "+testToken)
	runtime.ReadMemStats(&after)

	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), "20000×20000")
	// The body, its base64 and JSON copies are a few MB; the pixels would be 400 MB.
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "bytes allocated")
}

func TestUploadAndDownloadOriginals(t *testing.T) {
	s := newTestService(t)
	jpegData := encodeJPEG(t, photo(120, 80))
	pngData := encodePNG(t, photo(90, 60))

	tests := []struct {
		name     string
		declared string
		data     []byte
		want     string // the data URL type the download gives
	}{
		{"JPEG", "image/jpeg", jpegData, "image/jpeg"},
		{"PNG", "image/png", pngData, "image/png"},
		{"PNG declared as JPEG", "image/jpeg", pngData, "image/png"},
		{"JPEG declared as PNG", "image/png", jpegData, "image/jpeg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := s.mustUpload(t, tt.declared, tt.data)

			rec := s.do(t, http.MethodGet, "/images/"+id, "")
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			var got struct{ ID, Image string }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			assert.Equal(t, id, got.ID)
			original, ok := strings.CutPrefix(got.Image, "data:"+tt.want+";base64,")
			require.True(t, ok, "the original keeps its format: %.30s", got.Image)
			stored, err := base64.StdEncoding.DecodeString(original)
			require.NoError(t, err)
			want, _, err := stdimage.Decode(bytes.NewReader(tt.data))
			require.NoError(t, err)
			assertSamePicture(t, want, stored)

			rec = s.do(t, http.MethodGet, "/images/"+id+"/jpeg", "")
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, "image/jpeg", rec.Header().Get("Content-Type"))
			size := decodeJPEG(t, rec.Body.Bytes())
			if tt.want == "image/jpeg" {
				assert.Equal(t, stored, rec.Body.Bytes(), "a JPEG original is served as stored")
			} else {
				assert.Equal(t, stdimage.Pt(90, 60), size, "a PNG original converted at full size")
			}
		})
	}
}

func TestDownloadSizes(t *testing.T) {
	s := newTestService(t)
	wide := s.mustUpload(t, "image/jpeg", encodeJPEG(t, photo(1200, 800)))
	narrow := s.mustUpload(t, "image/png", encodePNG(t, photo(300, 200)))

	// How a size is asked for: ?Size=, ?size= or the Size header.
	ask := map[string]func(id, path, size string) (string, []string){
		"Size query": func(id, path, size string) (string, []string) {
			return "/images/" + id + path + "?Size=" + size, nil
		},
		"size query": func(id, path, size string) (string, []string) {
			return "/images/" + id + path + "?size=" + size, nil
		},
		"Size header": func(id, path, size string) (string, []string) {
			return "/images/" + id + path, []string{"Size", size}
		},
	}
	for how, request := range ask {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s %d", how, size), func(t *testing.T) {
				want := stdimage.Pt(size, (800*size+600)/1200) // aspect kept
				target, header := request(wide, "/jpeg", fmt.Sprint(size))
				assert.Equal(t, want, decodeJPEG(t, s.get(t, target, header...)))
				target, header = request(wide, "", fmt.Sprint(size))
				assert.Equal(t, want, decodeJPEG(t, s.getDataURL(t, target, "image/jpeg", header...)))

				// Never upscaled: a picture narrower than the size keeps its own.
				want = stdimage.Pt(300, 200)
				if size < 300 {
					want = stdimage.Pt(size, (200*size+150)/300)
				}
				target, header = request(narrow, "/jpeg", fmt.Sprint(size))
				assert.Equal(t, want, decodeJPEG(t, s.get(t, target, header...)))
			})
		}
		for _, size := range []string{"100", "2400", "abc", ""} {
			t.Run(fmt.Sprintf("%s %q gives the original", how, size), func(t *testing.T) {
				target, header := request(wide, "/jpeg", size)
				assert.Equal(t, stdimage.Pt(1200, 800), decodeJPEG(t, s.get(t, target, header...)))
				target, header = request(narrow, "", size)
				assert.NotEmpty(t, s.getDataURL(t, target, "image/png", header...), "the PNG original")
			})
		}
	}
}

func TestDownloadCaching(t *testing.T) {
	s := newTestService(t)
	id := s.mustUpload(t, "image/jpeg", encodeJPEG(t, photo(400, 300)))

	tags := map[string]bool{}
	for _, target := range []string{
		"/images/" + id, "/images/" + id + "?size=160", "/images/" + id + "/jpeg", "/images/" + id + "/jpeg?size=160",
	} {
		t.Run(target, func(t *testing.T) {
			rec := s.do(t, http.MethodGet, target, "")
			require.Equal(t, http.StatusOK, rec.Code)
			tag := rec.Header().Get("ETag")
			assert.Regexp(t, `^"[^"]+"$`, tag, "a strong ETag")
			assert.False(t, tags[tag], "each representation has its own ETag")
			tags[tag] = true
			assert.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"))

			for _, match := range []string{tag, `"other", ` + tag, "W/" + tag, "*"} {
				rec = s.do(t, http.MethodGet, target, "", "If-None-Match", match)
				assert.Equal(t, http.StatusNotModified, rec.Code, "If-None-Match: %s", match)
				assert.Empty(t, rec.Body.Bytes())
				assert.Equal(t, tag, rec.Header().Get("ETag"))
			}
			rec = s.do(t, http.MethodGet, target, "", "If-None-Match", `"other"`)
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.NotEmpty(t, rec.Body.Bytes())
		})
	}
}

func TestDownloadUnknownOrMalformedID(t *testing.T) {
	s := newTestService(t)
	for _, path := range []string{"", "/jpeg", "/jpeg?size=160"} {
		rec := s.do(t, http.MethodGet, "/images/"+uuid.NewString()+path, "")
		assert.Equal(t, http.StatusNotFound, rec.Code, path)
		assert.JSONEq(t, `{"error":"no such image","code":"not_found"}`, rec.Body.String(), "a message a person can read")

		rec = s.do(t, http.MethodGet, "/images/not-an-id"+path, "")
		assert.Equal(t, http.StatusBadRequest, rec.Code, path)
		assert.Contains(t, rec.Body.String(), `"error"`)
	}
	assert.Empty(t, s.keys(t), "nothing stored for unknown images")
}

// Concurrent first requests for a variant resize once; later requests, in this process or a
// new one, read the stored variant back.
func TestVariantIsComputedOnce(t *testing.T) {
	s := newTestService(t)
	id := s.mustUpload(t, "image/jpeg", encodeJPEG(t, photo(1200, 800)))
	target := "/images/" + id + "/jpeg?size=320"

	const requests = 12
	bodies := make([][]byte, requests)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range requests {
		wg.Go(func() {
			<-start
			rec := s.do(t, http.MethodGet, target, "")
			assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			bodies[i] = rec.Body.Bytes()
		})
	}
	close(start)
	wg.Wait()

	assert.EqualValues(t, 1, s.images.resized.Load(), "resizes for concurrent first requests")
	for _, body := range bodies {
		assert.Equal(t, bodies[0], body)
	}
	assert.Contains(t, s.keys(t), s.prefix+id+":320", "the variant is stored")

	s.get(t, target)
	s.get(t, "/images/"+id+"?Size=320") // the JSON form of the same variant
	assert.EqualValues(t, 1, s.images.resized.Load(), "resizes after the first")

	restarted := NewImages(NewStore(s.redis, s.prefix), testkit.Logger(t), UploadLimits{}, time.Now)
	data, err := restarted.JPEG(t.Context(), id, 320)
	require.NoError(t, err)
	assert.Equal(t, bodies[0], data)
	assert.Zero(t, restarted.resized.Load(), "a new process resizes nothing already stored")

	// Served variants are kept in memory: with Redis's copy gone, the bytes are still served.
	require.NoError(t, s.redis.Del(t.Context(), s.prefix+id+":320").Err())
	data, err = s.images.JPEG(t.Context(), id, 320)
	require.NoError(t, err)
	assert.Equal(t, bodies[0], data, "from the cache of variants")
	assert.EqualValues(t, 1, s.images.resized.Load(), "not resized again")
}

func TestPNGAsJPEGIsConvertedOnce(t *testing.T) {
	s := newTestService(t)
	id := s.mustUpload(t, "image/png", encodePNG(t, photo(200, 100)))
	first := s.get(t, "/images/"+id+"/jpeg")
	second := s.get(t, "/images/"+id+"/jpeg")
	assert.Equal(t, first, second)
	assert.Equal(t, stdimage.Pt(200, 100), decodeJPEG(t, first))
	assert.EqualValues(t, 1, s.images.resized.Load())
}

func TestOperationalEndpoints(t *testing.T) {
	s := newTestService(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		assert.Equal(t, http.StatusOK, s.do(t, http.MethodGet, path, "").Code, path)
	}
	rec := s.do(t, http.MethodOptions, "/images/create", "", "Origin", "http://shop.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "Size")
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "Size")
}

// Every refusal carries its code, and a field message its rule and params (SPEC §2).
func TestErrorCodes(t *testing.T) {
	s := newTestService(t)
	small := photo(8, 8)
	rec := s.upload(t, dataURL("image/gif", encodeGIF(t, small)))
	assert.JSONEq(t, `{"error":"validation failed","code":"validation_failed","messages":[{"path":"image","message":"must be a JPEG or PNG image","code":"image_format"}]}`, rec.Body.String())
	rec = s.upload(t, "data:image/png;base64,"+base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nbroken")))
	assert.JSONEq(t, `{"error":"validation failed","code":"validation_failed","messages":[{"path":"image","message":"is not a readable PNG image","code":"image_unreadable","params":{"format":"PNG"}}]}`, rec.Body.String())
	rec = s.upload(t, "")
	assert.JSONEq(t, `{"error":"validation failed","code":"validation_failed","messages":[{"path":"image","message":"is required","code":"required"}]}`, rec.Body.String())
	rec = s.do(t, http.MethodGet, "/images/not-a-uuid", "")
	assert.JSONEq(t, `{"error":"malformed image id (image ids are UUIDs)","code":"malformed_id"}`, rec.Body.String())
}
