package e2e

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkWebCatalog measures the storefront's catalog page of 24 articles with pictures, from
// the real services (testkit-started, on the machine's RabbitMQ, Redis and MongoDB-wire server):
// the time to answer the HTML page (one catalog call plus rendering; thumbnails are separate
// requests the browser caches), its size, and pages per second with concurrent visitors.
func BenchmarkWebCatalog(b *testing.B) {
	s := startWebShop(b)
	api := newClient(b, s.urls).as(s.adminToken)
	for i := len(s.articles); i < 24; i++ {
		api.must(http.MethodPost, "catalog", "/articles", map[string]any{
			"name": fmt.Sprintf("Bench article %02d", i), "description": "Something to list.",
			"image": s.articles[i%len(s.articles)].Image, "price": 10 + float64(i)/4, "stock": i,
		}, nil)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	getURL := func(url string) (int, error) {
		resp, err := client.Get(url)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("catalog page answered %d", resp.StatusCode)
		}
		return int(n), err
	}
	page := s.urls["web"] + "/"
	listing := s.urls["catalog"] + "/articles?page=1&size=24" // the call the page makes
	get := func() (int, error) { return getURL(page) }
	if _, err := get(); err != nil {
		b.Fatal(err)
	}

	// For comparison: the catalog API call itself, which the page makes at most once per 2 s.
	b.Run("catalog API listing", func(b *testing.B) {
		var took []time.Duration
		for b.Loop() {
			start := time.Now()
			if _, err := getURL(listing); err != nil {
				b.Fatal(err)
			}
			took = append(took, time.Since(start))
		}
		reportLatency(b, took)
	})

	b.Run("one visitor", func(b *testing.B) {
		var took []time.Duration
		size := 0
		for b.Loop() {
			start := time.Now()
			n, err := get()
			if err != nil {
				b.Fatal(err)
			}
			took = append(took, time.Since(start))
			size = n
		}
		reportLatency(b, took)
		b.ReportMetric(float64(size), "page-bytes")
	})

	b.Run("8 visitors", func(b *testing.B) {
		var pages atomic.Int64
		start := time.Now()
		b.SetParallelism(4) // 4 × GOMAXPROCS (2 here) = 8 concurrent visitors
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := get(); err != nil {
					b.Error(err)
					return
				}
				pages.Add(1)
			}
		})
		b.ReportMetric(float64(pages.Load())/time.Since(start).Seconds(), "pages/s")
	})
}

func reportLatency(b *testing.B, took []time.Duration) {
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
}
