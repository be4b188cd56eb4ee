package image

import (
	"encoding/json"
	stdimage "image"
	"math/rand/v2"
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

// quotaShop is one or more image instances on one Redis prefix, with two signed-in users.
type quotaShop struct {
	redis     *redis.Client
	prefix    string
	auth      *testkit.Auth
	clock     *testkit.Clock
	instances []http.Handler
}

// quotaStart is 15 minutes and 30 seconds into an hour.
var quotaStart = time.Date(2026, 12, 6, 10, 15, 30, 0, time.UTC)

func newQuotaShop(t *testing.T, limits UploadLimits, instances int) *quotaShop {
	client, prefix := testkit.Redis(t)
	s := &quotaShop{redis: client, prefix: prefix, auth: testkit.NewAuth(t), clock: testkit.NewClock(quotaStart)}
	s.auth.Add("ann-token", "ann")
	s.auth.Add("bob-token", "bob")
	log := testkit.Logger(t)
	for range instances {
		images := NewImages(NewStore(client, prefix), log, limits, s.clock.Now)
		s.instances = append(s.instances, NewServer(Deps{Basics: web.Basics{Log: log, Metrics: metrics.New("image")},
			Images: images, Tokens: tokens.NewChecker(s.auth.URL, time.Minute)}))
	}
	return s
}

// upload posts dataURL to instance i as the user of token.
func (s *quotaShop) upload(t *testing.T, i int, token, dataURL string) *httptest.ResponseRecorder {
	t.Helper()
	body, err := json.Marshal(map[string]string{"image": dataURL})
	require.NoError(t, err)
	return testkit.Serve(t, s.instances[i], testkit.Request{Method: http.MethodPost, Path: "/images/create", Token: token, Body: string(body)})
}

// stored counts the images stored (their original keys; variants and quota counts aside).
func (s *quotaShop) stored(t *testing.T) int {
	t.Helper()
	keys, err := s.redis.Keys(t.Context(), s.prefix+"*").Result()
	require.NoError(t, err)
	n := 0
	for _, k := range keys {
		if !strings.HasPrefix(k, s.prefix+"quota:") && !strings.Contains(k, ":full") {
			n++
		}
	}
	return n
}

// requireRateLimited checks a refusal by a quota: 429, code rate_limited, Retry-After.
func requireRateLimited(t *testing.T, rec *httptest.ResponseRecorder, retryAfter string) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
	assert.Equal(t, retryAfter, rec.Header().Get("Retry-After"))
	var body struct{ Error, Code string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "rate_limited", body.Code)
	assert.Contains(t, body.Error, "per hour")
}

func TestUploadQuotas(t *testing.T) {
	small := dataURL("image/png", encodePNG(t, photo(8, 8)))
	untilTheHour := "2670" // 44 min 30 s

	t.Run("uploads per hour", func(t *testing.T) {
		s := newQuotaShop(t, UploadLimits{PerHour: 3}, 1)
		for range 3 {
			require.Equal(t, http.StatusOK, s.upload(t, 0, "ann-token", small).Code)
		}
		requireRateLimited(t, s.upload(t, 0, "ann-token", small), untilTheHour)
		assert.Equal(t, 3, s.stored(t), "the refused upload stored nothing")
		assert.Equal(t, http.StatusOK, s.upload(t, 0, "bob-token", small).Code, "another user is not affected")

		s.clock.Set(quotaStart.Truncate(time.Hour).Add(time.Hour - 1500*time.Millisecond))
		requireRateLimited(t, s.upload(t, 0, "ann-token", small), "2")
		s.clock.Set(quotaStart.Truncate(time.Hour).Add(time.Hour)) // the next hour
		assert.Equal(t, http.StatusOK, s.upload(t, 0, "ann-token", small).Code)
	})

	t.Run("MB per hour", func(t *testing.T) {
		s := newQuotaShop(t, UploadLimits{MBPerHour: 1}, 1)
		big := encodePNG(t, noise(300, 300)) // ~350 KB: noise does not compress
		require.Greater(t, len(big), 1<<20/4)
		fits := (1 << 20) / len(big)
		for range fits {
			require.Equal(t, http.StatusOK, s.upload(t, 0, "ann-token", dataURL("image/png", big)).Code)
		}
		rec := s.upload(t, 0, "ann-token", dataURL("image/png", big))
		requireRateLimited(t, rec, untilTheHour)
		assert.Contains(t, rec.Body.String(), "1 MB of uploads per hour")
		assert.Equal(t, fits, s.stored(t))
		assert.Equal(t, http.StatusOK, s.upload(t, 0, "ann-token", small).Code, "a small one still fits: the refused one counted for nothing")
		assert.Equal(t, http.StatusOK, s.upload(t, 0, "bob-token", dataURL("image/png", big)).Code)
	})

	t.Run("two instances share the count", func(t *testing.T) {
		s := newQuotaShop(t, UploadLimits{PerHour: 4, MBPerHour: 100}, 2)
		for i := range 4 {
			require.Equal(t, http.StatusOK, s.upload(t, i%2, "ann-token", small).Code)
		}
		requireRateLimited(t, s.upload(t, 0, "ann-token", small), untilTheHour)
		requireRateLimited(t, s.upload(t, 1, "ann-token", small), untilTheHour)
		assert.Equal(t, 4, s.stored(t))
	})

	t.Run("0 turns them off", func(t *testing.T) {
		s := newQuotaShop(t, UploadLimits{}, 1)
		for range 12 {
			require.Equal(t, http.StatusOK, s.upload(t, 0, "ann-token", small).Code)
		}
		keys, err := s.redis.Keys(t.Context(), s.prefix+"quota:*").Result()
		require.NoError(t, err)
		assert.Empty(t, keys, "nothing counted")
	})

	t.Run("a bad upload is refused before it counts", func(t *testing.T) {
		s := newQuotaShop(t, UploadLimits{PerHour: 1}, 1)
		for range 3 {
			assert.Equal(t, http.StatusBadRequest, s.upload(t, 0, "ann-token", "data:image/png;base64,bm90IGFuIGltYWdl").Code)
		}
		assert.Equal(t, http.StatusOK, s.upload(t, 0, "ann-token", small).Code)
	})
}

// noise is a picture of random pixels.
func noise(w, h int) *stdimage.NRGBA {
	img := stdimage.NewNRGBA(stdimage.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
	}
	return img
}

func TestLoadConfigUploadLimits(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	cfg, err := LoadConfig(env(nil))
	require.NoError(t, err)
	assert.Equal(t, DefaultUploadLimits, cfg.Uploads)
	cfg, err = LoadConfig(env(map[string]string{"IMAGE_UPLOADS_PER_HOUR": "0", "IMAGE_UPLOAD_MB_PER_HOUR": "5"}))
	require.NoError(t, err)
	assert.Equal(t, UploadLimits{PerHour: 0, MBPerHour: 5}, cfg.Uploads)
	for _, bad := range []map[string]string{{"IMAGE_UPLOADS_PER_HOUR": "-1"}, {"IMAGE_UPLOAD_MB_PER_HOUR": "many"}} {
		_, err := LoadConfig(env(bad))
		assert.Error(t, err, "%v", bad)
	}
}
