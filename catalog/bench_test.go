package catalog

import (
	"fmt"
	"net/http"
	"testing"
)

// seedBenchArticles makes n articles through the API; every tenth is a "lamp".
func seedBenchArticles(b *testing.B, api *testAPI, n int) []Article {
	b.Helper()
	out := make([]Article, n)
	for i := range n {
		kind := "chair"
		if i%10 == 0 {
			kind = "lamp"
		}
		out[i] = api.create(fmt.Sprintf("Article %03d %s", i, kind), "benchmark article", "9.99", 5)
	}
	return out
}

// BenchmarkGetArticle measures GET /articles/{id} through the handler against the
// MongoDB-wire server (an article lookup plus its latest stock move), with 100 articles.
func BenchmarkGetArticle(b *testing.B) {
	api := newTestAPI(b)
	articles := seedBenchArticles(b, api, 100)
	i := 0
	for b.Loop() {
		status, body := api.do("GET", "/articles/"+articles[i%len(articles)].ID, "", "")
		if status != http.StatusOK {
			b.Fatalf("status %d: %s", status, body)
		}
		i++
	}
}

// BenchmarkSearchArticles measures GET /articles/search/{criteria} matching 10 of 100 articles.
func BenchmarkSearchArticles(b *testing.B) {
	api := newTestAPI(b)
	seedBenchArticles(b, api, 100)
	for b.Loop() {
		status, body := api.do("GET", "/articles/search/LAMP%20article", "", "")
		if status != http.StatusOK {
			b.Fatalf("status %d: %s", status, body)
		}
	}
}
