package auth_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
)

// logins returns the logins of a page of users.
func logins(users []auth.User) []string {
	out := []string{}
	for _, u := range users {
		out = append(out, u.Login)
	}
	return out
}

// The users list reads a page by _id: its cost grows with the page's size, not with the number
// of users, and it stays right when instances sign users up at once.
func TestUsersListCostAndRaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	a, err := auth.NewStore(ctx, db)
	require.NoError(t, err)
	b, err := auth.NewStore(ctx, db) // a second instance
	require.NoError(t, err)
	create := func(s *auth.Store, login string) {
		_, err := s.CreateUser(ctx, auth.User{User: tokens.User{Name: "N", Login: login, Permissions: []string{"user"}, Enabled: true}})
		require.NoError(t, err)
	}
	for i := range 10 {
		create(a, fmt.Sprintf("early-%02d", i))
	}
	page := func(s *auth.Store, n, size int) ([]string, int64, int64) {
		var users []auth.User
		var total int64
		cost := trips.During(func() {
			users, total, err = s.UsersPage(ctx, "", n, size)
			require.NoError(t, err)
		})
		return logins(users), total, cost
	}
	got, total, small := page(b, 2, 3)
	assert.Equal(t, []string{"early-06", "early-05", "early-04"}, got)
	assert.Equal(t, int64(10), total)

	var wg sync.WaitGroup // two instances sign up 40 users at once
	for i := range 40 {
		s := []*auth.Store{a, b}[i%2]
		wg.Go(func() { create(s, fmt.Sprintf("rush-%02d", i)) })
	}
	wg.Wait()
	_, total, large := page(b, 2, 3)
	assert.Equal(t, int64(50), total)
	t.Logf("a page of 3: %d round trips at 10 users, %d at 50", small, large)
	// The head, the entries after it (the head is written every 8, and b knows the entries
	// it listed), a miss past the last one, then each entry of the page and its user: not one
	// lookup per user.
	assert.LessOrEqual(t, large, int64(1+8+1+2*3))

	seen := map[string]int{}
	for n := 1; n <= 6; n++ {
		users, _, err := a.UsersPage(ctx, "", n, 10)
		require.NoError(t, err)
		for _, l := range logins(users) {
			seen[l]++
		}
	}
	assert.Len(t, seen, 50, "every user on a page")
	for l, times := range seen {
		assert.Equal(t, 1, times, "%s listed once", l)
	}
}
