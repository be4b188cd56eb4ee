package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

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
