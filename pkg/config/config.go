// Package config reads the environment variables of SPEC §1. Only a service's Run calls it.
package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// defaultPorts are the services' ports of SPEC §1: the one table behind every default port and
// service URL (the services' PORT, the *_SERVICE_URL defaults, the all-in-one launcher, the load
// tool).
var defaultPorts = map[string]string{
	"auth": "3000", "image": "3001", "catalog": "3002", "cart": "3003", "orders": "3004", "web": "8080",
}

// DefaultPort returns the port of service (auth, image, catalog, cart, orders, web) of SPEC §1,
// or "" for another name.
func DefaultPort(service string) string { return defaultPorts[service] }

// DefaultURL returns where service listens by default on this machine.
func DefaultURL(service string) string { return "http://127.0.0.1:" + DefaultPort(service) }

// Getenv is os.Getenv's shape, so Run can be given a fake environment in tests.
type Getenv func(string) string

// Common is the configuration every service reads; each service uses the parts it needs.
type Common struct {
	Port string
	// ListenHost is the address the service listens on (LISTEN_HOST): every interface when
	// empty, as the service binaries and containers do; the all-in-one fleet sets 127.0.0.1.
	ListenHost string
	MongoURL   string
	RedisURL   string
	RabbitURL  string
	AuthURL    string
	CatalogURL string
	ImageURL   string
	CartURL    string
	OrdersURL  string
	TokenTTL   time.Duration
	LogLevel   string
	// MetricsAllow are the peers that GET /metrics answers (METRICS_ALLOW, comma-separated
	// addresses or CIDRs); nil when unset, for the default of pkg/web (loopback and private
	// ranges).
	MetricsAllow []netip.Prefix
}

// Load reads the common variables, defaulting to localhost and the SPEC's ports; defaultPort
// is the service's own port (DefaultPort).
func Load(getenv Getenv, defaultPort string) (Common, error) {
	e := Env{getenv}
	c := Common{
		Port:       e.String("PORT", defaultPort),
		ListenHost: e.String("LISTEN_HOST", ""),
		MongoURL:   e.String("MONGO_URL", "mongodb://127.0.0.1:27017"),
		RedisURL:   e.String("REDIS_URL", "redis://127.0.0.1:6379/0"),
		RabbitURL:  e.String("RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672/"),
		AuthURL:    e.String("AUTH_SERVICE_URL", DefaultURL("auth")),
		ImageURL:   e.String("IMAGE_SERVICE_URL", DefaultURL("image")),
		CatalogURL: e.String("CATALOG_SERVICE_URL", DefaultURL("catalog")),
		CartURL:    e.String("CART_SERVICE_URL", DefaultURL("cart")),
		OrdersURL:  e.String("ORDERS_SERVICE_URL", DefaultURL("orders")),
		LogLevel:   e.String("LOG_LEVEL", "info"),
	}
	var err error
	if c.MetricsAllow, err = ParsePrefixes(e.String("METRICS_ALLOW", "")); err != nil {
		return c, fmt.Errorf("METRICS_ALLOW: %w", err)
	}
	if c.TokenTTL, err = e.Duration("TOKEN_CACHE_TTL", 5*time.Minute); err != nil {
		return c, err
	}
	if c.TokenTTL <= 0 || c.TokenTTL > 5*time.Minute {
		return c, fmt.Errorf("TOKEN_CACHE_TTL must be between 0 and 5m, got %s", c.TokenTTL)
	}
	return c, nil
}

// ParsePrefixes reads "127.0.0.1, 10.0.0.0/8": single addresses and CIDR prefixes.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if addr, err := netip.ParseAddr(item); err == nil {
			prefixes = append(prefixes, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, err
		}
		prefixes = append(prefixes, p.Masked())
	}
	return prefixes, nil
}

// Addr is the listen address for the service's port, on ListenHost (every interface when
// empty). A PORT that is already host:port wins.
func (c Common) Addr() string {
	if strings.Contains(c.Port, ":") {
		return c.Port
	}
	return net.JoinHostPort(c.ListenHost, c.Port)
}

// Masked returns the configuration every service uses, for a start-up log line, with passwords
// hidden. The stores are left out: not every service has one, so each store is logged where it
// is opened (app.Runtime.Mongo; image's Redis).
func (c Common) Masked() map[string]string {
	return map[string]string{
		"port": c.Port, "listen_host": c.ListenHost, "rabbit_url": Mask(c.RabbitURL),
		"auth_service_url": c.AuthURL, "catalog_service_url": c.CatalogURL,
		"token_cache_ttl": c.TokenTTL.String(),
	}
}

// Mask hides the password of a URL.
func Mask(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Env reads typed variables with defaults.
type Env struct{ Getenv Getenv }

// String returns the variable, or def when it is unset or empty.
func (e Env) String(key, def string) string {
	if v := strings.TrimSpace(e.Getenv(key)); v != "" {
		return v
	}
	return def
}

// Duration parses a Go duration ("30s", "5m").
func (e Env) Duration(key string, def time.Duration) (time.Duration, error) {
	v := e.String(key, "")
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return d, nil
}

// Int parses an integer.
func (e Env) Int(key string, def int) (int, error) {
	v := e.String(key, "")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return n, nil
}
