package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// MinSecretBytes is the shortest JWT_SECRET auth accepts (HS256 wants a 256-bit key).
const MinSecretBytes = 32

// claims are the claims of every token. Tokens carry no expiry (SPEC §3.1): they are valid
// while their token record is enabled and their user is enabled.
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
type sessions struct {
	store *Store
	key   []byte
	pub   bus.Publisher
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

// issue creates a token record for u and returns its token.
func (s *sessions) issue(ctx context.Context, u User) (string, error) {
	tokenID, err := s.store.CreateToken(ctx, u.ID)
	if err != nil {
		return "", err
	}
	return s.sign(tokenID, u.ID)
}

// check returns the user of token and its claims: the signature must hold, the token record be
// enabled and the user exist and be enabled. Anything else is Unauthorized.
func (s *sessions) check(ctx context.Context, token string) (User, claims, error) {
	if token == "" {
		return User{}, claims{}, errs.Newf(errs.Unauthorized, "missing bearer token")
	}
	c, err := s.parse(token)
	if err != nil {
		return User{}, claims{}, err
	}
	ok, err := s.store.TokenEnabled(ctx, c.TokenID, c.UserID)
	if err != nil {
		return User{}, claims{}, err
	}
	if !ok {
		return User{}, claims{}, errs.Newf(errs.Unauthorized, "token revoked")
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if errors.Is(err, errs.NotFound) || (err == nil && !u.Enabled) {
		return User{}, claims{}, errs.Newf(errs.Unauthorized, "invalid token")
	}
	if err != nil {
		return User{}, claims{}, err
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

// signOutOthers revokes every token of c's user but c's own, and tells every service to drop
// them: after a password change, whoever held the old password is signed out everywhere.
// Each record is revoked before its broadcast, so auth refuses the token at once whatever
// happens to the broadcast; a broadcast that fails leaves the other services' caches to expire
// (at most a few minutes, SPEC §4): that failure is returned apart, as broadcastErr.
func (s *sessions) signOutOthers(ctx context.Context, c claims) (broadcastErr, err error) {
	ids, err := s.store.EnabledTokens(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if id == c.TokenID {
			continue
		}
		if err := s.store.RevokeToken(ctx, id); err != nil {
			return nil, err
		}
		token, err := s.sign(id, c.UserID)
		if err != nil {
			return nil, err
		}
		if err := s.broadcast(ctx, token); err != nil {
			broadcastErr = err
		}
	}
	return broadcastErr, nil
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
	if err := s.broadcastUser(ctx, userID); err != nil {
		return err
	}
	return s.store.RevokeTokens(ctx, userID)
}

// broadcastUser sends logout for every enabled token of userID, so that every service drops it
// from its cache (and asks auth again on its next use). userID must be canonical (as User.ID):
// it is signed into the rebuilt tokens, which must equal the ones the user holds.
func (s *sessions) broadcastUser(ctx context.Context, userID string) error {
	ids, err := s.store.EnabledTokens(ctx, userID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		token, err := s.sign(id, userID)
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
