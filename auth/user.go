// Package auth is the auth service (SPEC §3.1): users, passwords, permissions and the tokens
// every other service checks through GET /users/current.
package auth

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// User is a user account: as the API shows it (tokens.User, the one declaration of that JSON,
// which every service's token check reads) and its password hash, which never leaves auth.
type User struct {
	tokens.User
	PasswordHash []byte `json:"-"`
}

// The permissions every new user gets, and the one that opens the admin endpoints.
const (
	PermissionUser  = "user"
	PermissionAdmin = "admin"
)

// Length limits of SPEC §3.1. Name and login count characters, passwords bytes (bcrypt reads
// at most 72 bytes, so a longer password would be silently cut).
const (
	maxName        = 100
	minLogin       = 4
	maxLogin       = 100
	minPassword    = 8
	maxPassword    = 72
	maxPermission  = 50
	maxPermissions = 20
)

// DefaultPasswordCost is the bcrypt cost passwords are hashed with: SPEC §3.1's minimum. Tests
// of behaviour lower it through Deps.PasswordCost, or AUTH_PASSWORD_COST with APP_ENV=development
// (bcrypt at cost 10 takes about a second under the race detector).
const DefaultPasswordCost = 10

// passwords hashes and compares passwords at one bcrypt cost.
type passwords struct {
	cost int
	// dummy is a hash, at cost, of no one's password. Sign-in compares against it when the
	// login is unknown, so an unknown login takes as long as a wrong password.
	dummy []byte
}

// newPasswords returns the passwords of bcrypt cost: DefaultPasswordCost when 0, else cost
// within bcrypt's range (bcrypt.MinCost to bcrypt.MaxCost).
func newPasswords(cost int) passwords {
	if cost == 0 || cost == DefaultPasswordCost {
		return passwords{cost: DefaultPasswordCost, dummy: []byte(dummyHashCost10)}
	}
	cost = min(max(cost, bcrypt.MinCost), bcrypt.MaxCost)
	dummy, _ := bcrypt.GenerateFromPassword([]byte("dummy"), cost) // fails only for a cost out of range
	return passwords{cost: cost, dummy: dummy}
}

// loginKey is the form of a login that uniqueness is judged on: Unicode NFKC, case-folded (and
// normalised again, as folding can undo it). "Bob" and "bob" are one login, and so are look-alikes
// that differ only in compatibility forms: "ａlice" (full-width a) and "alice", "ﬁona" and "fiona".
func loginKey(login string) string {
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(login)))
}

// checkNewUser checks the fields of a sign-up (as newUser does, without hashing).
func checkNewUser(name, login, password string) error {
	name, login = strings.TrimSpace(name), strings.TrimSpace(login)
	var v errs.Validation
	checkText(&v, "name", name, 1, maxName)
	checkText(&v, "login", login, minLogin, maxLogin)
	web.CheckNoBidi(&v, "name", name)
	// Logins are told apart by people too: invisible format characters (zero-width space,
	// bidi overrides) would let "bob\u200b" pass for "bob", which the unique index cannot see.
	if strings.ContainsFunc(login, web.IsBidiControl) {
		web.CheckNoBidi(&v, "login", login) // the message every service gives for these
	} else {
		v.Check(!strings.ContainsFunc(login, isFormatChar), "login", errs.Break(errs.RuleNoInvisible))
	}
	checkPassword(&v, "password", password)
	return v.Err()
}

// newUser checks a sign-up and returns the user to store, with its password hashed.
func (p passwords) newUser(name, login, password string, permissions ...string) (User, error) {
	if err := checkNewUser(name, login, password); err != nil {
		return User{}, err
	}
	hash, err := p.hash(password)
	if err != nil {
		return User{}, err
	}
	if len(permissions) == 0 {
		permissions = []string{PermissionUser}
	}
	return User{User: tokens.User{Name: strings.TrimSpace(name), Login: strings.TrimSpace(login),
		Permissions: permissions, Enabled: true}, PasswordHash: hash}, nil
}

// checkText records a problem when s is not between minLen and maxLen characters or holds
// control characters. A field whose minimum is 1 is simply "required" when empty.
func checkText(v *errs.Validation, path, s string, minLen, maxLen int) {
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen && minLen == 1:
		v.Add(path, errs.Break(errs.RuleRequired))
	case n < minLen || n > maxLen:
		v.Add(path, errs.Break(errs.RuleLengthChar, minLen, maxLen))
	case strings.IndexFunc(s, unicode.IsControl) >= 0 || !utf8.ValidString(s):
		v.Add(path, errs.Break(errs.RuleNoControl))
	}
}

// isFormatChar tells Unicode format characters (category Cf), which are invisible.
func isFormatChar(r rune) bool { return unicode.Is(unicode.Cf, r) }

func checkPassword(v *errs.Validation, path, password string) {
	v.Check(len(password) >= minPassword && len(password) <= maxPassword, path,
		errs.Break(errs.RuleLength, minPassword, maxPassword))
}

func (p passwords) hash(password string) ([]byte, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), p.cost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

// dummyHashCost10 is passwords.dummy at DefaultPasswordCost.
const dummyHashCost10 = "$2a$10$h3DUb4QxfK/LOYNapnQpHOgUo3kRobO475Qz4bM0Pi/Bg.DCIuj8m"

// matches compares password with hash in constant time (bcrypt's own comparison).
func (p passwords) matches(hash []byte, password string) bool {
	if len(password) > maxPassword {
		// Never stored; still spend the same time as a real comparison.
		_ = bcrypt.CompareHashAndPassword(p.dummy, []byte(password[:maxPassword]))
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}

// matchesNoOne spends the work of a comparison for a login that does not exist.
func (p passwords) matchesNoOne(password string) { p.matches(p.dummy, password) }

var permissionPattern = regexp.MustCompile(`^[a-z0-9_-]+$`)

// checkPermissions validates the permissions list of a grant or revoke.
func checkPermissions(perms []string) error {
	var v errs.Validation
	if len(perms) == 0 || len(perms) > maxPermissions {
		v.Add("permissions", errs.Break(errs.RulePermissionCount, 1, maxPermissions))
	}
	for i, p := range perms {
		if len(p) == 0 || len(p) > maxPermission || !permissionPattern.MatchString(p) {
			v.Add(fmt.Sprintf("permissions[%d]", i), errs.Break(errs.RulePermissionName, maxPermission))
		}
	}
	return v.Err()
}
