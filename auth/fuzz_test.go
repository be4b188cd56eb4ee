package auth_test

import (
	"net/http/httptest"
	"testing"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// The fuzz targets of auth's request bodies: sign-up, sign-in, password change, grant and
// revoke. Their corpora are in testdata/fuzz/.

func fuzzAuth(f *testing.F, path string, admin bool, seed string) {
	e := newEnv(f, auth.Limits{PerLogin: 1 << 30, PerAddress: 1 << 30, TakenLogins: 1 << 30})
	srv := httptest.NewServer(e.handler)
	f.Cleanup(srv.Close)
	token := e.signUp("Fuzz", "fuzz-user", "fuzz-password")
	if admin {
		token = e.admin()
		path = "/users/" + e.current(e.signUp("Target", "fuzz-target", "target-password")).ID + path
	}
	testkit.FuzzBody(f, srv.URL, "POST", path, token, seed)
}

func FuzzSignUp(f *testing.F) {
	fuzzAuth(f, "/users/signup", false, `{"name":"Ana","login":"ana-fuzz","password":"ana-password"}`)
}

func FuzzSignIn(f *testing.F) {
	fuzzAuth(f, "/users/signin", false, `{"login":"fuzz-user","password":"fuzz-password"}`)
}

func FuzzChangePassword(f *testing.F) {
	fuzzAuth(f, "/users/password", false, `{"currentPassword":"fuzz-password","newPassword":"fuzz-password"}`)
}

func FuzzGrant(f *testing.F) {
	fuzzAuth(f, "/grant", true, `{"permissions":["admin"]}`)
}

func FuzzRevoke(f *testing.F) {
	fuzzAuth(f, "/revoke", true, `{"permissions":["admin"]}`)
}
