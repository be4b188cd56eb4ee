// Package api is the storefront's typed client of the five REST services (SPEC §3.1–3.5). It
// speaks to them as any outside client does: JSON over HTTP, the user's token as a bearer header.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/correlation"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// URLs are the base URLs of the five services.
type URLs struct {
	Auth, Image, Catalog, Cart, Orders string
}

// Client calls the services. Its zero value is not usable; use New.
type Client struct {
	urls URLs
	http *http.Client
}

// New returns a client of the services at urls.
func New(urls URLs) *Client {
	trim := func(s string) string { return strings.TrimRight(s, "/") }
	return &Client{
		urls: URLs{trim(urls.Auth), trim(urls.Image), trim(urls.Catalog), trim(urls.Cart), trim(urls.Orders)},
		http: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 90 * time.Second},
		},
	}
}

// Error is a service's error answer (SPEC §2): its status, its `error` summary and `code`, and
// its per-field `messages`. A service that cannot be reached is a 503 Error.
type Error struct {
	Service string
	Status  int
	Message string              `json:"error"`
	Code    errs.Code           `json:"code"`
	Fields  []errs.FieldProblem `json:"messages"`
	// Lines are the cart's per-article problems of a refused checkout.
	Lines []LineProblem `json:"errors"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s answered %d: %s", e.Service, e.Status, e.Message)
}

// Unwrap gives the error kind of the status, so errors.Is(err, errs.NotFound) works.
func (e *Error) Unwrap() error { return web.KindOf(e.Status) }

// Field returns the message the service gave for the field at path, or "".
func (e *Error) Field(path string) string {
	for _, f := range e.Fields {
		if f.Path == path {
			return f.Message
		}
	}
	return ""
}

// AsError returns err's service Error, if it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

type clientAddressKey struct{}

// WithClientAddress returns ctx carrying the address of the person the calls are made for. It
// goes to the services as X-Forwarded-For, so auth limits sign-in attempts per person, not per
// storefront (auth believes it from the addresses in its AUTH_TRUSTED_PROXIES).
func WithClientAddress(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddressKey{}, addr)
}

type userAgentKey struct{}

// WithUserAgent returns ctx carrying the User-Agent of the person the calls are made for: auth
// shows it with the session a sign-in opens, so that its owner recognises the device.
func WithUserAgent(ctx context.Context, agent string) context.Context {
	return context.WithValue(ctx, userAgentKey{}, agent)
}

// call sends in (when not nil) as JSON to base+path with token and decodes a 200 answer into out.
func (c *Client) call(ctx context.Context, service, method, url, token string, in, out any) error {
	_, err := c.exchange(ctx, service, method, url, token, in, out)
	return err
}

// callPage GETs one page of a paged list (SPEC §3.1, §3.5): it decodes the array into out and
// returns the list's total from the X-Total-Count header.
func (c *Client) callPage(ctx context.Context, service, url, token string, out any) (int64, error) {
	header, err := c.exchange(ctx, service, http.MethodGet, url, token, nil, out)
	if err != nil {
		return 0, err
	}
	total, err := strconv.ParseInt(header.Get(web.TotalCountHeader), 10, 64)
	if err != nil || total < 0 {
		return 0, &Error{Service: service, Status: http.StatusServiceUnavailable, Message: "unreadable answer: no " + web.TotalCountHeader}
	}
	return total, nil
}

// exchange is call that also returns the answer's headers.
func (c *Client) exchange(ctx context.Context, service, method, url, token string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if addr, ok := ctx.Value(clientAddressKey{}).(string); ok && addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	if agent, ok := ctx.Value(userAgentKey{}).(string); ok && agent != "" {
		req.Header.Set("User-Agent", agent)
	}
	if id := correlation.ID(ctx); id != "" {
		req.Header.Set("X-Correlation-Id", id)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Service: service, Status: http.StatusServiceUnavailable, Message: err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, &Error{Service: service, Status: http.StatusServiceUnavailable, Message: err.Error()}
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Service: service, Status: resp.StatusCode}
		_ = json.Unmarshal(raw, e) // a body that is not the SPEC's error shape leaves Message empty
		if e.Status >= 500 {
			e.Status = http.StatusServiceUnavailable
		}
		return nil, e
	}
	if out == nil || len(raw) == 0 {
		return resp.Header, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, &Error{Service: service, Status: http.StatusServiceUnavailable, Message: "unreadable answer: " + err.Error()}
	}
	return resp.Header, nil
}
