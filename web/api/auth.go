package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/tokens"
)

// User is a user as auth describes it (the shape the token check also reads).
type User = tokens.User

type tokenAnswer struct {
	Token string `json:"token"`
}

// SignUp creates a user and returns its token.
func (c *Client) SignUp(ctx context.Context, name, login, password string) (string, error) {
	var out tokenAnswer
	in := map[string]string{"name": name, "login": login, "password": password}
	err := c.call(ctx, "auth", http.MethodPost, c.urls.Auth+"/users/signup", "", in, &out)
	return out.Token, err
}

// SignIn returns a new token for login.
func (c *Client) SignIn(ctx context.Context, login, password string) (string, error) {
	var out tokenAnswer
	in := map[string]string{"login": login, "password": password}
	err := c.call(ctx, "auth", http.MethodPost, c.urls.Auth+"/users/signin", "", in, &out)
	return out.Token, err
}

// SignOut revokes token everywhere.
func (c *Client) SignOut(ctx context.Context, token string) error {
	return c.call(ctx, "auth", http.MethodGet, c.urls.Auth+"/users/signout", token, nil, nil)
}

// ChangePassword changes the password of token's user.
func (c *Client) ChangePassword(ctx context.Context, token, current, next string) error {
	in := map[string]string{"currentPassword": current, "newPassword": next}
	return c.call(ctx, "auth", http.MethodPost, c.urls.Auth+"/users/password", token, in, nil)
}

// UserPage is one page of the users (admin).
type UserPage struct {
	Users []User
	Total int64 // users matching, in all pages
}

// Users returns page (from 1) of size of the users, newest first, only those whose login
// contains q when q is not empty (admin).
func (c *Client) Users(ctx context.Context, token, q string, page, size int) (UserPage, error) {
	var out UserPage
	v := url.Values{"page": {strconv.Itoa(page)}, "size": {strconv.Itoa(size)}}
	if q != "" {
		v.Set("q", q)
	}
	total, err := c.callPage(ctx, "auth", c.urls.Auth+"/users/all?"+v.Encode(), token, &out.Users)
	out.Total = total
	return out, err
}

// SetUserEnabled enables or disables a user (admin); disabling revokes the user's tokens.
func (c *Client) SetUserEnabled(ctx context.Context, token, userID string, enabled bool) error {
	action := "/disable"
	if enabled {
		action = "/enable"
	}
	return c.call(ctx, "auth", http.MethodPost, c.urls.Auth+"/users/"+url.PathEscape(userID)+action, token, nil, nil)
}

// SetPermission grants or revokes one permission of a user (admin).
func (c *Client) SetPermission(ctx context.Context, token, userID, permission string, grant bool) error {
	action := "/revoke"
	if grant {
		action = "/grant"
	}
	in := map[string][]string{"permissions": {permission}}
	return c.call(ctx, "auth", http.MethodPost, c.urls.Auth+"/users/"+url.PathEscape(userID)+action, token, in, nil)
}

// Session is one signed-in session of a user, as auth lists them.
type Session struct {
	ID       string    `json:"id"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed"`
	Client   string    `json:"client"`
	Address  string    `json:"address"`
	Current  bool      `json:"current"`
}

// Sessions lists the live sessions of token's user, newest first.
func (c *Client) Sessions(ctx context.Context, token string) ([]Session, error) {
	var out []Session
	err := c.call(ctx, "auth", http.MethodGet, c.urls.Auth+"/users/sessions", token, nil, &out)
	return out, err
}

// EndSession ends one session of token's user (404 when it is not theirs).
func (c *Client) EndSession(ctx context.Context, token, sessionID string) error {
	return c.call(ctx, "auth", http.MethodDelete, c.urls.Auth+"/users/sessions/"+url.PathEscape(sessionID), token, nil, nil)
}

// EndOtherSessions ends every session of token's user but token's own.
func (c *Client) EndOtherSessions(ctx context.Context, token string) error {
	return c.call(ctx, "auth", http.MethodDelete, c.urls.Auth+"/users/sessions", token, nil, nil)
}

// SignOutUser ends every session of a user (admin).
func (c *Client) SignOutUser(ctx context.Context, token, userID string) error {
	return c.call(ctx, "auth", http.MethodPost, c.urls.Auth+"/users/"+url.PathEscape(userID)+"/signout", token, nil, nil)
}
