package catalog

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
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

// BenchmarkSearch10k measures a two-word search of the read model holding 10,000 articles with
// descriptions of about 300 characters (no store: searches never ask it).
func BenchmarkSearch10k(b *testing.B) {
	v := newArticleView()
	words := []string{"lamp", "chair", "table", "sofa", "desk", "shelf", "rug", "mirror", "clock", "vase"}
	for i := range 10_000 {
		doc := articleDoc{ID: bson.NewObjectID(), Enabled: true, Version: 1,
			Name:        fmt.Sprintf("%s %s número %d", words[i%10], words[(i/10)%10], i),
			Description: strings.Repeat(fmt.Sprintf("Hand-made %s in oak and brass, finished by hand. ", words[(i/100)%10]), 6)}
		v.apply(change{ArticleID: doc.ID, Article: &doc, Stock: &stockLevel{Seq: 1, Balance: 5}})
	}
	for b.Loop() {
		if got := v.search([]string{"LAMP", "Oak"}, maxSearchResult); len(got) == 0 {
			b.Fatal("no hits")
		}
	}
}
