package tokens_test

import (
	"context"
	"testing"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
)

// BenchmarkCheckCached is the token check every request pays once the token is cached.
func BenchmarkCheckCached(b *testing.B) {
	auth := testkit.NewAuth(b)
	auth.Add("tok", "u1")
	c := listening(b, tokens.NewChecker(auth.URL, time.Minute))
	ctx := context.Background()
	if _, err := c.Check(ctx, "tok"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Check(ctx, "tok"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheckMiss is a check that must ask auth (here its stand-in, over loopback HTTP).
func BenchmarkCheckMiss(b *testing.B) {
	auth := testkit.NewAuth(b)
	auth.Add("tok", "u1")
	c := listening(b, tokens.NewChecker(auth.URL, time.Minute))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c.Evict("tok")
		if _, err := c.Check(ctx, "tok"); err != nil {
			b.Fatal(err)
		}
	}
}
