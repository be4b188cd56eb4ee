package auth_test

import (
	"net/http"
	"testing"

	"github.com/ecommerce-go/ecommerce/auth"
)

// BenchmarkSignIn measures a whole sign-in: user lookup, one bcrypt comparison (cost 10),
// token record insert, signing.
func BenchmarkSignIn(b *testing.B) {
	defer auth.SetPasswordCost(10)()
	e := newEnv(b, auth.Limits{PerLogin: 1 << 30, PerAddress: 1 << 30})
	e.signUp("Bench", "bench", "bench-password")
	body := map[string]string{"login": "bench", "password": "bench-password"}
	for b.Loop() {
		if rec := e.post("/users/signin", "", body); rec.Code != http.StatusOK {
			b.Fatalf("sign-in: %d %s", rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkCurrentUser measures GET /users/current: JWT check, token record and user lookups.
func BenchmarkCurrentUser(b *testing.B) {
	e := newEnv(b, auth.Limits{})
	token := e.signUp("Bench", "bench", "bench-password")
	for b.Loop() {
		if rec := e.get("/users/current", token); rec.Code != http.StatusOK {
			b.Fatalf("current: %d %s", rec.Code, rec.Body.String())
		}
	}
}
