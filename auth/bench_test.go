package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// BenchmarkSignIn measures a whole sign-in: user lookup, one bcrypt comparison (cost 10),
// token record insert, signing.
func BenchmarkSignIn(b *testing.B) {
	e := newEnvOn(b, testkit.Mongo(b), func(d *auth.Deps) {
		d.Limits = auth.Limits{PerLogin: 1 << 30, PerAddress: 1 << 30}
		d.PasswordCost = auth.DefaultPasswordCost
	})
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

// BenchmarkListUsers measures a page of 20 users, newest first, and a login search over a crowd
// of users (the store's side of GET /users/all). The page is read by _id from the users list and
// should cost the same at every crowd size; the search reads every user on a MongoDB-wire server
// that pushes no sort or count down (FerretDB), so it grows with the crowd there.
func BenchmarkListUsers(b *testing.B) {
	for _, crowd := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("users=%d", crowd), func(b *testing.B) {
			ctx := context.Background()
			db := testkit.Mongo(b)
			batch := make([]any, 0, 1000)
			for i := range crowd {
				login := fmt.Sprintf("crowd-%06d", i)
				batch = append(batch, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "name", Value: "Crowd"},
					{Key: "login", Value: login}, {Key: "loginKey", Value: login}, {Key: "password", Value: []byte("x")},
					{Key: "permissions", Value: bson.A{"user"}}, {Key: "enabled", Value: true}})
				if len(batch) == cap(batch) || i == crowd-1 {
					_, err := db.Collection("users").InsertMany(ctx, batch)
					require.NoError(b, err)
					batch = batch[:0]
				}
			}
			store, err := auth.NewStore(ctx, db) // lists the crowd
			require.NoError(b, err)
			for _, q := range []string{"", "crowd-0001"} {
				b.Run("q="+q, func(b *testing.B) {
					for b.Loop() {
						users, _, err := store.UsersPage(ctx, q, 1, 20)
						if err != nil || len(users) == 0 {
							b.Fatalf("list: %d users, %v", len(users), err)
						}
					}
				})
			}
		})
	}
}
