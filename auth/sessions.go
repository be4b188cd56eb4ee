package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// MinSecretBytes is the shortest JWT_SECRET auth accepts (HS256 wants a 256-bit key).
const MinSecretBytes = 32

// claims are the claims of every token. Tokens carry no expiry (SPEC §3.1): they are valid
// while their token record is enabled, their user is enabled and the record was used within
// the idle limit (sessions.idle).
type claims struct {
	TokenID string `json:"tokenID"`
	UserID  string `json:"userID"`
	jwt.RegisteredClaims
}

// sessions issues, checks and revokes tokens.
//
// A token is never stored. Signing is deterministic (same claims, same key, same HS256 JWT),
// so when a user is disabled the tokens to broadcast are rebuilt from their records: the
// database holds nothing that works as a credential.
//
// A token record is a session. Its last use is recorded at most once per touchEvery (idle/720,
// an hour at the default), so a token check is two reads by _id in the common case (the record,
// the user) and a third round trip, a write, once per step; a session so lives at most idle plus
// one step after its last use here, and other services' caches add at most their TTL.
type sessions struct {
	store   *Store
	key     []byte
	pub     bus.Publisher
	idle    time.Duration // AUTH_TOKEN_IDLE; 0 = sessions never expire
	now     func() time.Time
	trusted []netip.Prefix // whose X-Forwarded-For tells the client's address (ratelimit.go)
}

// DefaultTokenIdle is how long a session lasts without use (AUTH_TOKEN_IDLE).
const DefaultTokenIdle = 720 * time.Hour

// Session is a signed-in token as its owner sees it (GET /users/sessions): when it was created
// and last used, and the client (User-Agent) and address it signed in from.
type Session struct {
	ID       string    `json:"id"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed"`
	Client   string    `json:"client"`
	Address  string    `json:"address"`
	Current  bool      `json:"current"`
}

// maxClient bounds the User-Agent kept with a session.
const maxClient = 200

// touchEvery is the step at which a session's last use is recorded.
func (s *sessions) touchEvery() time.Duration {
	if s.idle == 0 {
		return time.Hour // never expire: the last use is still shown to its owner
	}
	return s.idle / 720
}

// expired tells whether sess has gone unused for longer than the idle limit at now.
func (s *sessions) expired(sess Session, now time.Time) bool {
	return s.idle > 0 && now.Sub(sess.LastUsed) > s.idle
}

// from describes the session a sign-in or sign-up request opens: its client and address.
func (s *sessions) from(r *http.Request) Session {
	client := strings.Map(func(c rune) rune {
		if unicode.IsControl(c) || web.IsBidiControl(c) || c == utf8.RuneError {
			return -1
		}
		return c
	}, r.UserAgent())
	if utf8.RuneCountInString(client) > maxClient {
		client = string([]rune(client)[:maxClient])
	}
	address := ""
	if addr := clientAddress(r, s.trusted); addr.IsValid() {
		address = addr.String()
	}
	return Session{Client: strings.TrimSpace(client), Address: address}
}

func (s *sessions) sign(tokenID, userID string) (string, error) {
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{TokenID: tokenID, UserID: userID}).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return token, nil
}

// parse verifies token's signature, accepting HS256 only (no "none", no algorithm swap).
func (s *sessions) parse(token string) (claims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}))
	if err != nil || c.TokenID == "" || c.UserID == "" {
		return claims{}, errs.Newf(errs.Unauthorized, "invalid token")
	}
	return c, nil
}

// issue creates a token record for u, the session that from describes, and returns its token.
func (s *sessions) issue(ctx context.Context, u User, from Session) (string, error) {
	from.Created = s.now()
	tokenID, err := s.store.CreateToken(ctx, u.ID, from)
	if err != nil {
		return "", err
	}
	return s.sign(tokenID, u.ID)
}

// check returns the user of token and its claims: the signature must hold, the token record be
// enabled and used within the idle limit, and the user exist and be enabled. Anything else is
// Unauthorized. It records the use when the last one recorded is a step old.
func (s *sessions) check(ctx context.Context, token string) (User, claims, error) {
	if token == "" {
		return User{}, claims{}, errs.Newf(errs.Unauthorized, "missing bearer token")
	}
	c, err := s.parse(token)
	if err != nil {
		return User{}, claims{}, err
	}
	sess, err := s.store.Token(ctx, c.TokenID, c.UserID)
	if errors.Is(err, errs.NotFound) {
		return User{}, claims{}, errs.Newf(errs.Unauthorized, "token revoked")
	}
	if err != nil {
		return User{}, claims{}, err
	}
	now := s.now()
	if s.expired(sess, now) {
		return User{}, claims{}, errs.Newf(errs.Unauthorized, "session expired: sign in again")
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if errors.Is(err, errs.NotFound) || (err == nil && !u.Enabled) {
		return User{}, claims{}, errs.Newf(errs.Unauthorized, "invalid token")
	}
	if err != nil {
		return User{}, claims{}, err
	}
	// Concurrent checks may both write: the same kind of value, harmless.
	if now.Sub(sess.LastUsed) >= s.touchEvery() {
		if err := s.store.TouchToken(ctx, c.TokenID, now); err != nil {
			return User{}, claims{}, err
		}
	}
	return u, c, nil
}

// signOut revokes the token of c and tells every service to drop it from its cache.
func (s *sessions) signOut(ctx context.Context, c claims) error {
	if err := s.store.RevokeToken(ctx, c.TokenID); err != nil {
		return err
	}
	token, err := s.sign(c.TokenID, c.UserID)
	if err != nil {
		return err
	}
	return s.broadcast(ctx, token)
}

// list returns the live sessions of c's user, the newest first, c's own marked current.
func (s *sessions) list(ctx context.Context, c claims) ([]Session, error) {
	all, err := s.store.EnabledTokens(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	live := make([]Session, 0, len(all))
	for _, sess := range all {
		if s.expired(sess, now) {
			continue
		}
		sess.Current = sess.ID == c.TokenID
		live = append(live, sess)
	}
	slices.SortStableFunc(live, func(a, b Session) int { return b.Created.Compare(a.Created) })
	return live, nil
}

// end ends the session sessionID of userID, as a sign-out does; a session that is not one of
// userID's enabled sessions is NotFound.
func (s *sessions) end(ctx context.Context, userID, sessionID string) error {
	if _, err := s.store.Token(ctx, sessionID, userID); err != nil {
		return err
	}
	return s.signOut(ctx, claims{TokenID: sessionID, UserID: userID})
}

// endAll revokes every token of userID but keep's (none when keep is ""), and tells every
// service to drop them: after a password change, whoever held the old password is signed out
// everywhere; an admin's sign-out of a user ends them all.
// Each record is revoked before its broadcast, so auth refuses the token at once whatever
// happens to the broadcast; a broadcast that fails leaves the other services' caches to expire
// (at most a few minutes, SPEC §4): that failure is returned apart, as broadcastErr.
// userID must be canonical (as User.ID): it is signed into the rebuilt tokens.
func (s *sessions) endAll(ctx context.Context, userID, keep string) (broadcastErr, err error) {
	all, err := s.store.EnabledTokens(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, sess := range all {
		if sess.ID == keep {
			continue
		}
		if err := s.store.RevokeToken(ctx, sess.ID); err != nil {
			return nil, err
		}
		token, err := s.sign(sess.ID, userID)
		if err != nil {
			return nil, err
		}
		if err := s.broadcast(ctx, token); err != nil {
			broadcastErr = err
		}
	}
	return broadcastErr, nil
}

// userChanged publishes `user-changed` for userID on the auth fanout (SPEC §4), so that every
// service drops its cached answers for that user's tokens: called after a grant, a revoke, an
// enable or a disable is stored. Each of those can be repeated, which broadcasts again.
func (s *sessions) userChanged(ctx context.Context, userID string) error {
	err := bus.Send(ctx, s.pub, contract.ExchangeAuth, "", contract.TypeUserChanged, contract.UserChanged{UserID: userID})
	if err != nil {
		return fmt.Errorf("%w: %w", errs.Unavailable, err)
	}
	return nil
}

// disableUser disables the user of id and revokes all its tokens, broadcasting each.
//
// The user is disabled first, which alone makes every token of theirs fail here; the records
// are revoked only after every broadcast went out, so an attempt that fails half-way can simply
// be repeated and broadcasts the same tokens again.
func (s *sessions) disableUser(ctx context.Context, userID string) error {
	if err := s.store.SetEnabled(ctx, userID, false); err != nil {
		return err
	}
	if err := s.userChanged(ctx, userID); err != nil {
		return err
	}
	if err := s.broadcastUser(ctx, userID); err != nil {
		return err
	}
	return s.store.RevokeTokens(ctx, userID)
}

// broadcastUser sends logout for every enabled token of userID, so that every service drops it
// from its cache (and asks auth again on its next use). userID must be canonical (as User.ID):
// it is signed into the rebuilt tokens, which must equal the ones the user holds.
func (s *sessions) broadcastUser(ctx context.Context, userID string) error {
	all, err := s.store.EnabledTokens(ctx, userID)
	if err != nil {
		return err
	}
	for _, sess := range all {
		token, err := s.sign(sess.ID, userID)
		if err != nil {
			return err
		}
		if err := s.broadcast(ctx, token); err != nil {
			return err
		}
	}
	return nil
}

// broadcast publishes `logout` with the bare token on the auth fanout exchange (SPEC §4).
func (s *sessions) broadcast(ctx context.Context, token string) error {
	if err := bus.Send(ctx, s.pub, contract.ExchangeAuth, "", contract.TypeLogout, contract.Logout(token)); err != nil {
		return fmt.Errorf("%w: %w", errs.Unavailable, err)
	}
	return nil
}
