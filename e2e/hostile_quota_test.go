package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// The per-account quotas of SPEC §2 against a one-account flood, on the fleet of separate
// processes configured by environment only, with limits low enough to reach in seconds: each
// flood is refused past its quota (429 rate_limited with Retry-After, or 429 too_many_payments
// for the payments of one order, a cap that never resets), and a normal user is still served.
const (
	quotaUploads     = 5 // IMAGE_UPLOADS_PER_HOUR
	quotaUploadMB    = 1 // IMAGE_UPLOAD_MB_PER_HOUR
	quotaCheckouts   = 3 // CART_CHECKOUTS_PER_MINUTE
	maxOrderPayments = 10
)

func TestHostileQuotas(t *testing.T) {
	parallel(t)
	s := startProcesses(t, testkit.RabbitURL(t),
		"IMAGE_UPLOADS_PER_HOUR="+strconv.Itoa(quotaUploads),
		"IMAGE_UPLOAD_MB_PER_HOUR="+strconv.Itoa(quotaUploadMB),
		"CART_CHECKOUTS_PER_MINUTE="+strconv.Itoa(quotaCheckouts))
	anon := newClient(t, s.urls)
	admin := anon.as(anon.signIn(s.adminLogin, s.adminPassword))
	var mug article
	admin.must(http.MethodPost, "catalog", "/articles", map[string]any{"name": "Quota mug", "description": "Holds tea", "price": 8, "stock": 1000}, &mug)
	newUser := func(name string) *client {
		return anon.as(anon.signUp(name, testkit.Name(name), name+" password 1"))
	}
	normal := newUser("normal")
	small := pngDataURL(t, 8, 8)

	t.Run("uploads per hour", func(t *testing.T) {
		awayFromWindowEnd(t, time.Hour)
		flooder := newUser("uploader")
		f := flood(t, 20, 8, func() *httptest.ResponseRecorder {
			return flooder.post("image", "/images/create", map[string]string{"image": small})
		})
		t.Logf("upload flood of one account: %s", f)
		assert.Equal(t, quotaUploads, f.ok, "exactly the quota accepted")
		assert.Equal(t, 20-quotaUploads, f.limited, "the rest refused with 429")
		assert.Positive(t, f.maxRetryAfter)
		assert.LessOrEqual(t, f.maxRetryAfter, 3600)
		assert.Equal(t, http.StatusOK, normal.post("image", "/images/create", map[string]string{"image": small}).Code, "a normal user still uploads")
	})

	t.Run("upload MB per hour", func(t *testing.T) {
		awayFromWindowEnd(t, time.Hour)
		flooder := newUser("heavy")
		big := noiseDataURL(t, 300, 300) // ~350 KB of original bytes: 2 fit in 1 MB, 3 do not
		f := flood(t, quotaUploads, 1, func() *httptest.ResponseRecorder {
			return flooder.post("image", "/images/create", map[string]string{"image": big})
		})
		t.Logf("heavy upload flood of one account (%d KB each): %s", len(big)*3/4>>10, f)
		assert.Equal(t, 2, f.ok)
		assert.Equal(t, quotaUploads-2, f.limited)
		assert.Equal(t, http.StatusOK, flooder.post("image", "/images/create", map[string]string{"image": small}).Code,
			"a small one still fits: the refused ones counted for nothing")
		assert.Equal(t, http.StatusOK, normal.post("image", "/images/create", map[string]string{"image": big}).Code, "a normal user still uploads")
	})

	var paidOrder string
	t.Run("checkouts per minute", func(t *testing.T) {
		awayFromWindowEnd(t, time.Minute)
		flooder := newUser("checkouts")
		f := flood(t, 10, 1, func() *httptest.ResponseRecorder {
			flooder.must(http.MethodPost, "cart", "/cart/article", map[string]any{"articleId": mug.ID, "quantity": 1}, nil)
			return flooder.post("cart", "/cart/checkout", nil)
		})
		t.Logf("checkout flood of one account: %s", f)
		assert.Equal(t, quotaCheckouts, f.ok)
		assert.Equal(t, 10-quotaCheckouts, f.limited)
		assert.LessOrEqual(t, f.maxRetryAfter, 60)
		var open cart
		flooder.must(http.MethodGet, "cart", "/cart", nil, &open)
		assert.True(t, open.Enabled, "the refused checkouts left the cart open")
		require.Len(t, open.Articles, 1)
		assert.Equal(t, 10-quotaCheckouts, open.Articles[0].Quantity, "with every line added since")

		normal.must(http.MethodPost, "cart", "/cart/article", map[string]any{"articleId": mug.ID, "quantity": 1}, nil)
		var closed cart
		normal.must(http.MethodPost, "cart", "/cart/checkout", nil, &closed)
		assert.False(t, closed.Enabled, "a normal user still checks out")

		eventually(t, 30*time.Second, "the flooder's orders placed and validated", func() bool {
			var list []orderSummary
			flooder.must(http.MethodGet, "orders", "/orders", nil, &list)
			for _, o := range list {
				if o.Status == "validated" {
					paidOrder = o.ID
				}
			}
			return len(list) == quotaCheckouts && paidOrder != ""
		})
		t.Run("payments per order", func(t *testing.T) {
			f := flood(t, maxOrderPayments+6, 8, func() *httptest.ResponseRecorder {
				return flooder.post("orders", "/orders/"+paidOrder+"/payment", map[string]any{"method": "CASH", "amount": 0.01})
			})
			t.Logf("payment flood on one order: %s", f)
			assert.Equal(t, maxOrderPayments, f.ok)
			assert.Equal(t, 6, f.tooManyPayments, "429 too_many_payments past the cap")
			var o order
			flooder.must(http.MethodGet, "orders", "/orders/"+paidOrder, nil, &o)
			assert.Len(t, o.Payments, maxOrderPayments)
		})
	})
}

// floodResult counts the answers to a flood.
type floodResult struct {
	ok, limited, tooManyPayments, other int
	maxRetryAfter                       int // seconds, the most any 429 said
	took                                time.Duration
	firstOther                          string
}

func (f floodResult) String() string {
	return "accepted " + strconv.Itoa(f.ok) + ", refused 429 " + strconv.Itoa(f.limited) +
		", refused 429 too_many_payments " + strconv.Itoa(f.tooManyPayments) + ", other " + strconv.Itoa(f.other) +
		", max Retry-After " + strconv.Itoa(f.maxRetryAfter) + "s, in " + f.took.Round(time.Millisecond).String()
}

// flood sends n requests made by send from workers goroutines and counts the answers; every
// refusal must carry its code (and a 429 its Retry-After), and nothing else may come back.
func flood(t *testing.T, n, workers int, send func() *httptest.ResponseRecorder) floodResult {
	t.Helper()
	var f floodResult
	var mu sync.Mutex
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				rec := send()
				var body struct{ Code string }
				_ = json.Unmarshal(rec.Body.Bytes(), &body)
				mu.Lock()
				switch {
				case rec.Code == http.StatusOK:
					f.ok++
				case rec.Code == http.StatusTooManyRequests && body.Code == "rate_limited":
					f.limited++
					seconds, err := strconv.Atoi(rec.Header().Get("Retry-After"))
					if assert.NoError(t, err, "Retry-After in whole seconds") {
						assert.Positive(t, seconds)
						f.maxRetryAfter = max(f.maxRetryAfter, seconds)
					}
				case rec.Code == http.StatusTooManyRequests && body.Code == "too_many_payments":
					f.tooManyPayments++
				default:
					f.other++
					if f.firstOther == "" {
						f.firstOther = strconv.Itoa(rec.Code) + " " + rec.Body.String()
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	f.took = time.Since(start)
	assert.Zero(t, f.other, "only acceptances and quota refusals; the first other: %s", f.firstOther)
	return f
}

// post sends body as JSON and returns the whole answer, headers included.
func (c *client) post(service, path string, body any) *httptest.ResponseRecorder {
	c.t.Helper()
	return testkit.Serve(c.t, c.urls[service], testkit.Request{Method: http.MethodPost, Path: path, Token: c.token, Body: body})
}

// awayFromWindowEnd waits, when the quota window of length per ends within the next few
// seconds, until the next one starts: the services count in windows aligned on the clock, and
// a flood split over two windows would be allowed twice its quota.
func awayFromWindowEnd(t *testing.T, per time.Duration) {
	const margin = 10 * time.Second // more than a flood takes
	now := time.Now()
	if left := now.Truncate(per).Add(per).Sub(now); left < margin {
		t.Logf("waiting %s for the next %s window", left.Round(time.Millisecond), per)
		time.Sleep(left + 100*time.Millisecond)
	}
}

// noiseDataURL is a PNG of random pixels, which does not compress: about 4·w·h bytes.
func noiseDataURL(t testing.TB, w, h int) string {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
	}
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}
