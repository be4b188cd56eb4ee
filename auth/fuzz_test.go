package auth_test

import (
	"net/http/httptest"
	"testing"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// The fuzz targets of auth's request bodies: sign-up, sign-in, password change, grant and
// revoke. Their seeds are the body shapes of pkg/testkit.

func fuzzAuth(f *testing.F, path string, admin bool, body testkit.Body) {
	e := newEnv(f, auth.Limits{PerLogin: 1 << 30, PerAddress: 1 << 30, TakenLogins: 1 << 30})
	srv := httptest.NewServer(e.handler)
	f.Cleanup(srv.Close)
	token := e.signUp("Fuzz", "fuzz-user", "fuzz-password")
	if admin {
		token = e.admin()
		path = "/users/" + e.current(e.signUp("Target", "fuzz-target", "target-password")).ID + path
	}
	testkit.FuzzBody(f, srv.URL, "POST", path, token, body)
}

func FuzzSignUp(f *testing.F) {
	fuzzAuth(f, "/users/signup", false, testkit.BodySignUp)
}

func FuzzSignIn(f *testing.F) {
	fuzzAuth(f, "/users/signin", false, testkit.BodySignIn)
}

func FuzzChangePassword(f *testing.F) {
	fuzzAuth(f, "/users/password", false, testkit.BodyPassword)
}

func FuzzGrant(f *testing.F) {
	fuzzAuth(f, "/grant", true, testkit.BodyPermissions)
}

func FuzzRevoke(f *testing.F) {
	fuzzAuth(f, "/revoke", true, testkit.BodyPermissions)
}
