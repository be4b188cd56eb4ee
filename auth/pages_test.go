package auth_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// GET /users/all answers one page of users, newest first, as a bare array with the total
// matching in X-Total-Count; ?q= keeps the logins that contain it in any letter case.
func TestListUsersPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})
	admin := e.admin() // root, the oldest
	var logins []string
	for i := range 7 {
		login := fmt.Sprintf("shopper-%d", i)
		if i%3 == 0 {
			login = fmt.Sprintf("Mallory-%d", i)
		}
		e.signUp("Shopper", login, "shopper-password")
		logins = append(logins, login)
	}
	list := func(query string) ([]string, string) {
		t.Helper()
		rec := e.get("/users/all?"+query, admin)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.NotContains(t, rec.Body.String(), "password")
		var users []auth.User
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &users))
		got := []string{}
		for _, u := range users {
			got = append(got, u.Login)
		}
		return got, rec.Header().Get(web.TotalCountHeader)
	}
	tests := []struct {
		query string
		want  []string
		total string
	}{
		{"", []string{"Mallory-6", "shopper-5", "shopper-4", "Mallory-3", "shopper-2", "shopper-1", "Mallory-0", "root"}, "8"},
		{"size=3", []string{"Mallory-6", "shopper-5", "shopper-4"}, "8"},
		{"page=2&size=3", []string{"Mallory-3", "shopper-2", "shopper-1"}, "8"},
		{"page=3&size=3", []string{"Mallory-0", "root"}, "8"},
		{"page=4&size=3", []string{}, "8"},
		{"q=mallory", []string{"Mallory-6", "Mallory-3", "Mallory-0"}, "3"},
		{"q=MALL&size=2&page=2", []string{"Mallory-0"}, "3"},
		{"q=" + url.QueryEscape(" Ｍallory-3 "), []string{"Mallory-3"}, "1"}, // folded as logins are
		{"q=.*", []string{}, "0"},                                           // plain text, not a pattern
		{"q=" + url.QueryEscape(`{"$ne":null}`), []string{}, "0"},
		{"q=nobody", []string{}, "0"},
	}
	for _, tc := range tests {
		got, total := list(tc.query)
		assert.Equal(t, tc.want, got, tc.query)
		assert.Equal(t, tc.total, total, tc.query)
	}
	rec := e.get("/users/all?page=4&size=3", admin)
	assert.Equal(t, "[]\n", rec.Body.String(), "an empty page is [], never null")

	for query, field := range map[string]string{
		"page=0": "page", "page=-1": "page", "page=abc": "page", "size=0": "size", "size=101": "size",
		"size=1.5": "size", "q=" + url.QueryEscape("a\x00b"): "q", "q=" + fmt.Sprintf("%0101d", 0): "q",
	} {
		rec := e.get("/users/all?"+query, admin)
		require.Equal(t, http.StatusBadRequest, rec.Code, query)
		assert.Equal(t, []string{field}, fieldPaths(errorOf(t, rec)), query)
	}
}

// Names and logins others read refuse the bidirectional controls that reorder how text shows
// ("Trojan Source"): 400 naming the field, nothing stored.
func TestSignUpRefusesBidiControls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})
	admin := e.admin()
	for i, r := range []rune{0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C} {
		for _, field := range []string{"name", "login"} {
			body := map[string]string{"name": "Eve", "login": fmt.Sprintf("eve-%d-%s", i, field), "password": "eve-password"}
			body[field] = "evil" + string(r) + "gpj.exe"
			rec := e.post("/users/signup", "", body)
			require.Equal(t, http.StatusBadRequest, rec.Code, "%U in %s: %s", r, field, rec.Body.String())
			b := errorOf(t, rec)
			assert.Equal(t, []string{field}, fieldPaths(b), "%U in %s", r, field)
			assert.Equal(t, web.BidiControlMessage, b.Messages[0].Message)
		}
	}
	rec := e.get("/users/all", admin)
	assert.Equal(t, "1", rec.Header().Get(web.TotalCountHeader), "nothing stored but the admin")
	e.signUp("مريم שרה", "maryam", "maryam-password") // right-to-left text itself is welcome
}
