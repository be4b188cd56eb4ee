package auth_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
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
		_, err := s.CreateUser(ctx, auth.User{Name: "N", Login: login, Permissions: []string{"user"}, Enabled: true})
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

// A store whose users were written before their list existed lists them, oldest first, when it
// opens: also when two instances open it at once.
func TestUsersListOfAnEarlierStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, trips := testkit.CountingMongo(t)
	var docs []any
	for i := range 25 {
		login := fmt.Sprintf("old-%02d", i)
		docs = append(docs, bson.D{{Key: "_id", Value: bson.NewObjectID()}, {Key: "name", Value: "Old"},
			{Key: "login", Value: login}, {Key: "loginKey", Value: login}, {Key: "permissions", Value: bson.A{"user"}}, {Key: "enabled", Value: true}})
	}
	_, err := db.Collection("users").InsertMany(ctx, docs)
	require.NoError(t, err)
	stores := make([]*auth.Store, 2)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			s, err := auth.NewStore(ctx, db)
			assert.NoError(t, err)
			stores[i] = s
		})
	}
	wg.Wait()
	require.NotNil(t, stores[0])
	users, total, err := stores[0].UsersPage(ctx, "", 1, 100)
	require.NoError(t, err)
	assert.Equal(t, int64(25), total)
	require.Len(t, users, 25)
	assert.Equal(t, "old-24", users[0].Login)
	assert.Equal(t, "old-00", users[24].Login)
	later, err := auth.NewStore(ctx, db) // an instance started later knows nothing of the list yet
	require.NoError(t, err)
	cost := trips.During(func() {
		users, _, err = later.UsersPage(ctx, "", 1, 2)
		require.NoError(t, err)
	})
	assert.Equal(t, []string{"old-24", "old-23"}, logins(users))
	assert.Equal(t, int64(2+2*2), cost, "the head (written by the listing), a miss past it, then each entry and its user")
	_, err = stores[1].CreateUser(ctx, auth.User{Name: "New", Login: "new-user", Enabled: true})
	require.NoError(t, err)
	users, total, err = stores[0].UsersPage(ctx, "", 1, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(26), total)
	assert.Equal(t, []string{"new-user", "old-24"}, logins(users))
}
