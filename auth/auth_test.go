package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

func TestSignUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})

	// permissions in the body must be ignored (no mass assignment).
	rec := e.post("/users/signup", "", map[string]any{
		"name": "Ana", "login": "Ana.Lopez", "password": "secret-pass", "permissions": []string{"admin"}, "enabled": false,
	})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	u := e.current(tokenOf(t, rec))
	assert.Equal(t, "Ana", u.Name)
	assert.Equal(t, "Ana.Lopez", u.Login, "login is kept as given")
	assert.Equal(t, []string{"user"}, u.Permissions)
	assert.True(t, u.Enabled)
	assert.Len(t, u.ID, 24)
	assert.NotContains(t, e.get("/users/current", tokenOf(t, rec)).Body.String(), "password")

	long := strings.Repeat("x", 101)
	tests := []struct {
		name   string
		body   any
		status int
		fields []string // paths in the 400 messages
	}{
		{"duplicate login", map[string]string{"name": "B", "login": "Ana.Lopez", "password": "secret-pass"}, 409, nil},
		{"duplicate login other case", map[string]string{"name": "B", "login": "ana.LOPEZ", "password": "secret-pass"}, 409, nil},
		{"duplicate login with spaces", map[string]string{"name": "B", "login": " ana.lopez ", "password": "secret-pass"}, 409, nil},
		{"missing everything", map[string]string{}, 400, []string{"name", "login", "password"}},
		{"name too long", map[string]string{"name": long, "login": "bob1", "password": "secret-pass"}, 400, []string{"name"}},
		{"login too short", map[string]string{"name": "B", "login": "bob", "password": "secret-pass"}, 400, []string{"login"}},
		{"login too long", map[string]string{"name": "B", "login": long, "password": "secret-pass"}, 400, []string{"login"}},
		{"login with control char", map[string]string{"name": "B", "login": "bo\tb", "password": "secret-pass"}, 400, []string{"login"}},
		{"login with zero-width space", map[string]string{"name": "B", "login": "ana.lopez\u200b", "password": "secret-pass"}, 400, []string{"login"}},
		{"login with bidi override", map[string]string{"name": "B", "login": "bob\u202e1", "password": "secret-pass"}, 400, []string{"login"}},
		{"password too short", map[string]string{"name": "B", "login": "bob1", "password": "1234567"}, 400, []string{"password"}},
		{"password over 72 bytes", map[string]string{"name": "B", "login": "bob1", "password": strings.Repeat("ñ", 37)}, 400, []string{"password"}},
		{"wrong type", `{"name":5,"login":"bob1","password":"secret-pass"}`, 400, []string{"name"}},
		{"malformed JSON", `{"name":"B",`, 400, nil},
		{"not an object", `[1,2]`, 400, nil},
		{"empty body", ``, 400, nil},
		{"oversized body", `{"name":"` + strings.Repeat("a", 64<<10) + `"}`, 413, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.post("/users/signup", "", tc.body)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			body := errorOf(t, rec)
			if tc.fields != nil {
				assert.ElementsMatch(t, tc.fields, fieldPaths(body))
			}
		})
	}

	// Limits are inclusive: 4-character login, 8- and 72-byte passwords, 100-character name.
	e.signUp(strings.Repeat("n", 100), "bob1", "12345678")
	e.signUp("B", "bob2", strings.Repeat("p", 72))
}

func TestSignUpWrongContentType(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})
	rec := e.serve(request{method: http.MethodPost, path: "/users/signup", body: `<user/>`,
		header: map[string]string{"Content-Type": "application/xml"}})
	assert.Equal(t, http.StatusUnsupportedMediaType, rec.Code)
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})
	e.signUp("Carla", "carla", "carla-password")

	token := e.signIn("carla", "carla-password")
	assert.Equal(t, "carla", e.current(token).Login)
	other := e.signIn("  CARLA ", "carla-password")
	assert.NotEqual(t, token, other, "every sign-in gets its own token")

	wrongPassword := e.post("/users/signin", "", map[string]string{"login": "carla", "password": "not-her-password"})
	unknownLogin := e.post("/users/signin", "", map[string]string{"login": "nobody", "password": "carla-password"})
	tooLong := e.post("/users/signin", "", map[string]string{"login": "carla", "password": strings.Repeat("p", 100)})
	for _, rec := range []*httptest.ResponseRecorder{wrongPassword, unknownLogin, tooLong} {
		assert.Equal(t, http.StatusUnauthorized, rec.Code)
	}
	assert.Equal(t, wrongPassword.Body.String(), unknownLogin.Body.String(), "no account enumeration")
	assert.Equal(t, wrongPassword.Body.String(), tooLong.Body.String())

	tests := []struct {
		name   string
		body   any
		status int
	}{
		{"missing login", map[string]string{"password": "x"}, 400},
		{"missing password", map[string]string{"login": "carla"}, 400},
		// No login is that long: refused before it is kept as a rate-limit key.
		{"login over 100 characters", map[string]string{"login": strings.Repeat("a", 101), "password": "x"}, 400},
		{"malformed JSON", `{"login":`, 400},
		{"wrong type", `{"login":["carla"],"password":"carla-password"}`, 400},
		{"oversized body", `{"login":"` + strings.Repeat("a", 64<<10) + `"}`, 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.post("/users/signin", "", tc.body)
			assert.Equal(t, tc.status, rec.Code, rec.Body.String())
			errorOf(t, rec)
		})
	}
}

func TestSignInRateLimit(t *testing.T) {
	t.Parallel()
	// The limits count per minute of the clock: a test clock keeps this test in one minute.
	clock := newTestClock()
	e := newEnvOn(t, testkit.Mongo(t), func(d *auth.Deps) { d.Limits, d.Now = auth.Limits{PerLogin: 3, PerAddress: 6}, clock.Now })
	e.signUp("Dora", "dora", "dora-password")
	e.signUp("Eva", "evaa", "evaa-password")
	e.signUp("Fran", "fran", "fran-password")
	signIn := func(login, password, addr string) int {
		return e.serve(request{method: http.MethodPost, path: "/users/signin", addr: addr,
			body: map[string]string{"login": login, "password": password}}).Code
	}

	// Per address and login: three failures, then that address is refused on that login, even
	// with the right password.
	assert.Equal(t, 401, signIn("dora", "wrong-password", "10.0.0.1:1000"))
	assert.Equal(t, 401, signIn("DORA", "wrong-password", "10.0.0.1:1001"))
	assert.Equal(t, 401, signIn("dora", "wrong-password", "10.0.0.1:1002"))
	rec := e.serve(request{method: http.MethodPost, path: "/users/signin", addr: "10.0.0.1:1003",
		body: map[string]string{"login": "dora", "password": "dora-password"}})
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	errorOf(t, rec)
	assert.Equal(t, 200, signIn("evaa", "evaa-password", "10.0.0.4:1000"), "other logins are not affected")

	// Regression (issue 14, finding 4): the stranger's failures do not lock the owner out:
	// from another address the right password signs in. A success is not counted as a
	// failure, but earlier failures stay counted until the window ends.
	assert.Equal(t, 200, signIn("dora", "dora-password", "10.0.0.2:1000"), "the owner still signs in")
	assert.Equal(t, 401, signIn("dora", "wrong-password", "10.0.0.2:1001"))
	assert.Equal(t, 401, signIn("dora", "wrong-password", "10.0.0.2:1002"))
	assert.Equal(t, 200, signIn("dora", "dora-password", "10.0.0.2:1003"))
	assert.Equal(t, 401, signIn("dora", "wrong-password", "10.0.0.2:1004"), "successes took no failure's place")
	assert.Equal(t, 429, signIn("dora", "dora-password", "10.0.0.2:1005"), "three failures from this address")

	// Per address: six attempts on any logins, then the address is refused.
	for i, login := range []string{"u-one", "u-two", "u-three", "u-four", "u-five"} {
		assert.Equal(t, 401, signIn(login, "whatever-pw", "10.9.9.9:"+strconv.Itoa(1000+i)), login)
	}
	assert.Equal(t, 200, signIn("fran", "fran-password", "10.9.9.9:2000"))
	assert.Equal(t, 429, signIn("fran", "fran-password", "10.9.9.9:3000"))
	assert.Equal(t, 200, signIn("fran", "fran-password", "10.9.9.8:3000"), "other addresses are not affected")
}

// Regression (issue 14, finding 3): sign-up cannot be used to enumerate logins. Past the limit of
// taken logins from one address, every sign-up from it is refused, with a free login too.
func TestSignUpRateLimit(t *testing.T) {
	t.Parallel()
	clock := newTestClock() // the limit counts per hour of the clock
	e := newEnvOn(t, testkit.Mongo(t), func(d *auth.Deps) { d.Limits, d.Now = auth.Limits{TakenLogins: 3}, clock.Now })
	e.signUp("Gala", "gala", "gala-password")
	signUp := func(login, addr string) int {
		return e.serve(request{method: http.MethodPost, path: "/users/signup", addr: addr,
			body: map[string]string{"name": "Probe", "login": login, "password": "probe-password"}}).Code
	}
	for i := range 3 {
		assert.Equal(t, http.StatusConflict, signUp("GALA", "10.1.1.1:"+strconv.Itoa(1000+i)))
	}
	rec := e.serve(request{method: http.MethodPost, path: "/users/signup", addr: "10.1.1.1:2000",
		body: map[string]string{"name": "Probe", "login": "gala", "password": "probe-password"}})
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	assert.Equal(t, http.StatusTooManyRequests, signUp("a-free-login", "10.1.1.1:2001"), "free and taken look alike")
	assert.Equal(t, http.StatusOK, signUp("a-free-login", "10.1.1.2:1000"), "other addresses are not affected")
	// Sign-ups that succeed are not counted: many new users from one address are fine.
	for i := range 5 {
		assert.Equal(t, http.StatusOK, signUp("new-user-"+strconv.Itoa(i), "10.1.1.3:1000"))
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})
	token := e.signUp("Fede", "fede", "fede-password")

	// Rebuild the claims of a real token, to sign them in bad ways.
	var claims jwt.MapClaims
	_, _, err := jwt.NewParser().ParseUnverified(token, &claims)
	require.NoError(t, err)
	assert.NotEmpty(t, claims["tokenID"])
	assert.NotEmpty(t, claims["userID"])
	assert.NotContains(t, claims, "exp", "tokens do not expire")
	sign := func(method jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, c).SignedString(key)
		require.NoError(t, err)
		return s
	}
	otherTokenID := jwt.MapClaims{"tokenID": "5f1d7a3e9b1e8a2c3d4e5f60", "userID": claims["userID"]}

	tests := []struct {
		name   string
		header string
		status int
	}{
		{"valid", "Bearer " + token, 200},
		{"scheme in any case", "bEaReR " + token, 200},
		{"no header", "", 401},
		{"not bearer", "Basic " + token, 401},
		{"garbage", "Bearer not.a.jwt", 401},
		{"alg none", "Bearer " + sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims), 401},
		{"wrong key", "Bearer " + sign(jwt.SigningMethodHS256, []byte("another-secret-of-32-bytes-or-more!!"), claims), 401},
		{"HS512 with the right key", "Bearer " + sign(jwt.SigningMethodHS512, testSecret, claims), 401},
		{"no token record", "Bearer " + sign(jwt.SigningMethodHS256, testSecret, otherTokenID), 401},
		{"malformed ids", "Bearer " + sign(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"tokenID": "x", "userID": "y"}), 401},
		{"empty claims", "Bearer " + sign(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{}), 401},
		{"tampered", "Bearer " + token[:len(token)-2] + "xx", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The header is sent exactly as given (an empty one is the same as none).
			rec := e.serve(request{method: http.MethodGet, path: "/users/current",
				header: map[string]string{"Authorization": tc.header}})
			assert.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.status != 200 {
				errorOf(t, rec)
			}
		})
	}
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})
	token := e.signUp("Gus", "gustavo", "gus-password")
	other := e.signIn("gustavo", "gus-password")
	first, second := listenLogout(t, e.rabbitURL), listenLogout(t, e.rabbitURL)

	rec := e.get("/users/signout", token)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Empty(t, rec.Body.String())
	first.waitFor(t, token)
	second.waitFor(t, token)

	assert.Equal(t, http.StatusUnauthorized, e.get("/users/current", token).Code, "revoked token")
	assert.Equal(t, http.StatusUnauthorized, e.get("/users/signout", token).Code, "signing out twice")
	assert.Equal(t, "gustavo", e.current(other).Login, "the user's other token still works")
	assert.Equal(t, http.StatusUnauthorized, e.get("/users/signout", "").Code)
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})
	token := e.signUp("Hugo", "hugo", "old-password")

	tests := []struct {
		name   string
		body   any
		status int
		fields []string
	}{
		{"wrong current password", map[string]string{"currentPassword": "not-it-at-all", "newPassword": "new-password"}, 400, []string{"currentPassword"}},
		{"missing current", map[string]string{"newPassword": "new-password"}, 400, []string{"currentPassword"}},
		{"new too short", map[string]string{"currentPassword": "old-password", "newPassword": "short"}, 400, []string{"newPassword"}},
		{"new too long", map[string]string{"currentPassword": "old-password", "newPassword": strings.Repeat("x", 73)}, 400, []string{"newPassword"}},
		{"malformed JSON", `{"currentPassword"`, 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.post("/users/password", token, tc.body)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.fields != nil {
				assert.ElementsMatch(t, tc.fields, fieldPaths(errorOf(t, rec)))
			}
		})
	}
	other := e.signIn("hugo", "old-password") // nothing changed so far
	listener := listenLogout(t, e.rabbitURL)

	assert.Equal(t, http.StatusUnauthorized, e.post("/users/password", "", map[string]string{}).Code)
	rec := e.post("/users/password", token, map[string]string{"currentPassword": "old-password", "newPassword": "new-password"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, http.StatusUnauthorized,
		e.post("/users/signin", "", map[string]string{"login": "hugo", "password": "old-password"}).Code)
	e.signIn("hugo", "new-password")

	// Regression (issue 14, finding 8): the change signs the user out of every other session,
	// here and, through the logout broadcast, in every other service's cache.
	assert.Equal(t, http.StatusOK, e.get("/users/current", token).Code, "the session that changed it goes on")
	assert.Equal(t, http.StatusUnauthorized, e.get("/users/current", other).Code, "another session is signed out")
	listener.waitFor(t, other)
	assert.False(t, listener.received(token), "the caller's own token is not broadcast")
}

func TestAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})
	admin := e.admin()
	userToken := e.signUp("Inés", "ines", "ines-password")
	user := e.current(userToken)
	listener := listenLogout(t, e.rabbitURL)
	changes := listenUserChanged(t, e.rabbitURL)

	t.Run("only admins", func(t *testing.T) {
		for _, path := range []string{"/users/" + user.ID + "/enable", "/users/" + user.ID + "/disable"} {
			assert.Equal(t, http.StatusForbidden, e.post(path, userToken, nil).Code, path)
			assert.Equal(t, http.StatusUnauthorized, e.post(path, "", nil).Code, path)
		}
		assert.Equal(t, http.StatusForbidden, e.get("/users/all", userToken).Code)
		assert.Equal(t, http.StatusUnauthorized, e.get("/users/all", "").Code)
		perms := map[string][]string{"permissions": {"admin"}}
		assert.Equal(t, http.StatusForbidden, e.post("/users/"+user.ID+"/grant", userToken, perms).Code)
		assert.Equal(t, http.StatusForbidden, e.post("/users/"+user.ID+"/revoke", userToken, perms).Code)
	})

	t.Run("list", func(t *testing.T) {
		rec := e.get("/users/all", admin)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.NotContains(t, rec.Body.String(), "password")
		var users []auth.User
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &users))
		require.Len(t, users, 2)
		assert.Equal(t, "ines", users[0].Login)
		assert.Equal(t, "root", users[1].Login)
		assert.ElementsMatch(t, []string{"user", "admin"}, users[1].Permissions)
	})

	t.Run("bad ids and bodies", func(t *testing.T) {
		unknown := "5f1d7a3e9b1e8a2c3d4e5f60"
		ok := map[string][]string{"permissions": {"editor"}}
		tests := []struct {
			name, path string
			body       any
			status     int
		}{
			{"enable malformed id", "/users/nope/enable", nil, 400},
			{"disable malformed id", "/users/nope/disable", nil, 400},
			{"grant malformed id", "/users/nope/grant", ok, 400},
			{"revoke malformed id", "/users/nope/revoke", ok, 400},
			{"enable unknown", "/users/" + unknown + "/enable", nil, 404},
			{"disable unknown", "/users/" + unknown + "/disable", nil, 404},
			{"grant unknown", "/users/" + unknown + "/grant", ok, 404},
			{"revoke unknown", "/users/" + unknown + "/revoke", ok, 404},
			{"grant empty list", "/users/" + user.ID + "/grant", map[string][]string{"permissions": {}}, 400},
			{"grant no list", "/users/" + user.ID + "/grant", map[string]string{}, 400},
			{"grant bad name", "/users/" + user.ID + "/grant", map[string][]string{"permissions": {"Super Admin"}}, 400},
			{"grant empty name", "/users/" + user.ID + "/grant", map[string][]string{"permissions": {""}}, 400},
			{"grant long name", "/users/" + user.ID + "/grant", map[string][]string{"permissions": {strings.Repeat("a", 51)}}, 400},
			{"grant wrong type", "/users/" + user.ID + "/grant", `{"permissions":"admin"}`, 400},
			{"revoke malformed JSON", "/users/" + user.ID + "/revoke", `{"permissions":[`, 400},
			{"disable yourself", "/users/" + e.current(admin).ID + "/disable", nil, 409},
			{"disable yourself, id in capitals", "/users/" + strings.ToUpper(e.current(admin).ID) + "/disable", nil, 409},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				rec := e.post(tc.path, admin, tc.body)
				assert.Equal(t, tc.status, rec.Code, rec.Body.String())
				errorOf(t, rec)
			})
		}
		assert.Equal(t, []string{"user"}, e.current(userToken).Permissions, "nothing changed")
		assert.True(t, e.current(admin).Enabled, "the admin is still enabled")
		assert.True(t, e.current(userToken).Enabled)
	})

	t.Run("grant and revoke", func(t *testing.T) {
		rec := e.post("/users/"+user.ID+"/grant", admin, map[string][]string{"permissions": {"admin", "stock-keeper_2", "admin"}})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.ElementsMatch(t, []string{"user", "admin", "stock-keeper_2"}, e.current(userToken).Permissions)
		assert.Equal(t, http.StatusOK, e.get("/users/all", userToken).Code, "now an admin")
		rec = e.post("/users/"+user.ID+"/grant", admin, map[string][]string{"permissions": {"admin"}})
		require.Equal(t, http.StatusOK, rec.Code, "granting twice is harmless")
		assert.ElementsMatch(t, []string{"user", "admin", "stock-keeper_2"}, e.current(userToken).Permissions)

		rec = e.post("/users/"+user.ID+"/revoke", admin, map[string][]string{"permissions": {"admin", "never-held"}})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.ElementsMatch(t, []string{"user", "stock-keeper_2"}, e.current(userToken).Permissions)
		assert.Equal(t, http.StatusForbidden, e.get("/users/all", userToken).Code)
		// Other services drop the user's cached permissions at once (TestUserChangesAreBroadcast).
		testkit.Eventually(t, 10*time.Second, func() bool { return changes.count(user.ID) >= 3 },
			"user-changed for each grant and revoke")
	})

	t.Run("disable and enable", func(t *testing.T) {
		second := e.signIn("ines", "ines-password")
		// An id in capitals names the same user, and the broadcasts carry the user's real tokens.
		rec := e.post("/users/"+strings.ToUpper(user.ID)+"/disable", admin, nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		listener.waitFor(t, userToken, second)

		for _, tok := range []string{userToken, second} {
			assert.Equal(t, http.StatusUnauthorized, e.get("/users/current", tok).Code)
		}
		// Regression (issue 14, finding 2): the right password of a disabled account gets the
		// very answer of a wrong one, so it confirms nothing.
		right := e.post("/users/signin", "", map[string]string{"login": "ines", "password": "ines-password"})
		wrong := e.post("/users/signin", "", map[string]string{"login": "ines", "password": "not-her-password"})
		assert.Equal(t, http.StatusUnauthorized, right.Code, "a disabled user cannot sign in")
		assert.Equal(t, wrong.Code, right.Code)
		assert.Equal(t, wrong.Body.String(), right.Body.String())
		assert.Equal(t, http.StatusOK, e.post("/users/"+user.ID+"/disable", admin, nil).Code, "disabling twice")

		rec = e.get("/users/all", admin)
		assert.Contains(t, rec.Body.String(), `"enabled":false`)

		require.Equal(t, http.StatusOK, e.post("/users/"+user.ID+"/enable", admin, nil).Code)
		fresh := e.signIn("ines", "ines-password")
		assert.True(t, e.current(fresh).Enabled)
		for _, tok := range []string{userToken, second} {
			assert.Equal(t, http.StatusUnauthorized, e.get("/users/current", tok).Code, "revoked tokens stay revoked")
		}
	})
}

func TestBootstrapAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})
	ctx := context.Background()
	users, err := e.store.Users(ctx)
	require.NoError(t, err)
	assert.NotNil(t, users, "no users is an empty list, never null")
	assert.Empty(t, users)

	created, err := auth.BootstrapAdmin(ctx, e.store, testPasswordCost, "boss", "boss-password")
	require.NoError(t, err)
	assert.True(t, created)
	created, err = auth.BootstrapAdmin(ctx, e.store, testPasswordCost, "BOSS", "another-password")
	require.NoError(t, err)
	assert.False(t, created, "idempotent")
	boss := e.current(e.signIn("boss", "boss-password"))
	assert.ElementsMatch(t, []string{"user", "admin"}, boss.Permissions)
	assert.Equal(t, http.StatusUnauthorized,
		e.post("/users/signin", "", map[string]string{"login": "boss", "password": "another-password"}).Code,
		"an existing user's password is left alone")

	// An existing user is granted admin.
	token := e.signUp("Juan", "juan", "juan-password")
	_, err = auth.BootstrapAdmin(ctx, e.store, testPasswordCost, "juan", "juan-password")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"user", "admin"}, e.current(token).Permissions)

	// Two instances starting at once.
	errc := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := auth.BootstrapAdmin(ctx, e.store, testPasswordCost, "twin", "twin-password")
			errc <- err
		}()
	}
	require.NoError(t, <-errc)
	require.NoError(t, <-errc)
	users, err = e.store.Users(ctx)
	require.NoError(t, err)
	assert.Len(t, users, 3)

	_, err = auth.BootstrapAdmin(ctx, e.store, testPasswordCost, "shorty", "short")
	assert.Error(t, err, "a weak password is refused")
}

// Regression (issue 14, finding 5): look-alike logins are one login, and broken text is refused
// with a 400 naming the field instead of being stored repaired.
func TestLoginLookAlikesAndBrokenText(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})
	e.signUp("Alice", "alice-user", "alice-password")

	for _, login := range []string{"ａlice-user", "ALICE-USER", "ａｌｉｃｅ-ｕｓｅｒ"} {
		rec := e.post("/users/signup", "", map[string]string{"name": "Mallory", "login": login, "password": "mallory-password"})
		assert.Equal(t, http.StatusConflict, rec.Code, "%q: %s", login, rec.Body.String())
	}
	assert.Equal(t, "alice-user", e.current(e.signIn("ＡLICE-user", "alice-password")).Login, "signs in as the one account")

	tests := []struct {
		name, body, field string
	}{
		{"invalid UTF-8 in the name", "{\"name\":\"Bad \xff name\",\"login\":\"bad-utf8\",\"password\":\"some-password\"}", "name"},
		{"invalid UTF-8 in the login", "{\"name\":\"Bad\",\"login\":\"bad\xc3-utf8\",\"password\":\"some-password\"}", "login"},
		{"NUL in the login", `{"name":"Bad","login":"nul\u0000login","password":"some-password"}`, "login"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.post("/users/signup", "", tc.body)
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			assert.Contains(t, fieldPaths(errorOf(t, rec)), tc.field)
		})
	}
}

// Every error auth sends carries its code, and every field message its rule and params
// (SPEC §2): the storefront and mobile clients translate them.
func TestErrorCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})
	e.signUp("Ana", "ana.codes", "secret-pass")
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		want   string // the whole answer
	}{
		{"password length", "/users/signup", map[string]string{"name": "B", "login": "bob1", "password": "1234567"}, 400,
			`{"error":"validation failed","code":"validation_failed","messages":[{"path":"password","message":"must be 8 to 72 bytes","code":"length","params":{"min":8,"max":72}}]}`},
		{"login length", "/users/signup", map[string]string{"name": "B", "login": "bob", "password": "secret-pass"}, 400,
			`{"error":"validation failed","code":"validation_failed","messages":[{"path":"login","message":"must be 4 to 100 characters","code":"length_chars","params":{"min":4,"max":100}}]}`},
		{"name required", "/users/signup", map[string]string{"login": "bob1", "password": "secret-pass"}, 400,
			`{"error":"validation failed","code":"validation_failed","messages":[{"path":"name","message":"is required","code":"required"}]}`},
		{"login taken", "/users/signup", map[string]string{"name": "B", "login": "ANA.codes", "password": "secret-pass"}, 409,
			`{"error":"login \"ANA.codes\" is already taken","code":"login_taken"}`},
		{"wrong password", "/users/signin", map[string]string{"login": "ana.codes", "password": "wrong-pass"}, 401,
			`{"error":"wrong login or password","code":"wrong_credentials"}`},
		{"wrong type", "/users/signin", `{"login":5,"password":"x"}`, 400,
			`{"error":"validation failed","code":"validation_failed","messages":[{"path":"login","message":"must be a string","code":"type","params":{"type":"string"}}]}`},
		{"malformed JSON", "/users/signin", `{"login":`, 400, `{"error":"malformed JSON","code":"malformed_json"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.post(tc.path, "", tc.body)
			assert.Equal(t, tc.status, rec.Code)
			assert.JSONEq(t, tc.want, rec.Body.String())
		})
	}

	user := e.signIn("ana.codes", "secret-pass")
	rec := e.post("/users/password", user, map[string]string{"currentPassword": "not-it", "newPassword": "new-secret"})
	assert.JSONEq(t, `{"error":"validation failed","code":"validation_failed","messages":[{"path":"currentPassword","message":"is not your current password","code":"not_current_password"}]}`, rec.Body.String())
	rec = e.get("/users/all", user)
	assert.JSONEq(t, `{"error":"requires the \"admin\" permission","code":"missing_permission"}`, rec.Body.String())
}
