package cart

import (
	"fmt"
	"net/http"
	"testing"
)

// The benchmarks go through HTTP, the token check (cache warm), the store (FerretDB here, so
// they mostly measure it) and, for adds, the article-valid publish with its confirm.

func BenchmarkAddToCart(b *testing.B) {
	f := newFixture(b)
	const users = 20
	for u := range users {
		f.auth.Add(fmt.Sprint("tok", u), fmt.Sprint("u", u))
		f.cart("GET", "/cart", fmt.Sprint("tok", u), nil) // warms the token cache
	}
	articles := []string{articleA, articleB, articleLow}
	for i := 0; b.Loop(); i++ {
		body := map[string]any{"articleId": articles[i%len(articles)], "quantity": 1}
		if status, raw := f.do("POST", "/cart/article", fmt.Sprint("tok", i%users), body); status != http.StatusOK {
			b.Fatalf("status %d: %s", status, raw)
		}
	}
}

func BenchmarkGetCart(b *testing.B) {
	f := newFixture(b)
	f.auth.Add("tok", "u1")
	f.cart("POST", "/cart/article", "tok", map[string]any{"articleId": articleA, "quantity": 1})
	for b.Loop() {
		if status, raw := f.do("GET", "/cart", "tok", nil); status != http.StatusOK {
			b.Fatalf("status %d: %s", status, raw)
		}
	}
}
