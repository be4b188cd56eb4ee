package config_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/config"
)

func envOf(m map[string]string) config.Getenv { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := config.Load(envOf(nil), "3002")
	require.NoError(t, err)
	assert.Equal(t, ":3002", c.Addr())
	assert.Equal(t, "http://127.0.0.1:3000", c.AuthURL)
	assert.Equal(t, 5*time.Minute, c.TokenTTL)
}

func TestLoadOverrides(t *testing.T) {
	c, err := config.Load(envOf(map[string]string{
		"PORT": "127.0.0.1:9000", "AUTH_SERVICE_URL": "http://auth:3000", "TOKEN_CACHE_TTL": "30s",
	}), "3002")
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9000", c.Addr())
	assert.Equal(t, "http://auth:3000", c.AuthURL)
	assert.Equal(t, 30*time.Second, c.TokenTTL)
}

func TestListenHost(t *testing.T) {
	for host, want := range map[string]string{"": ":3002", "127.0.0.1": "127.0.0.1:3002", "::1": "[::1]:3002", "0.0.0.0": "0.0.0.0:3002"} {
		c, err := config.Load(envOf(map[string]string{"LISTEN_HOST": host}), "3002")
		require.NoError(t, err)
		assert.Equal(t, want, c.Addr(), "LISTEN_HOST=%q", host)
	}
}

func TestLoadRejectsBadTTL(t *testing.T) {
	for _, ttl := range []string{"10m", "0s", "-1s", "soon"} {
		_, err := config.Load(envOf(map[string]string{"TOKEN_CACHE_TTL": ttl}), "3002")
		assert.Error(t, err, ttl)
	}
}

func TestMaskHidesPasswords(t *testing.T) {
	assert.Equal(t, "amqp://guest:xxxxx@rabbit:5672/", config.Mask("amqp://guest:secret@rabbit:5672/"))
	assert.Equal(t, "mongodb://mongo:27017", config.Mask("mongodb://mongo:27017"))
	c, err := config.Load(envOf(map[string]string{"RABBIT_URL": "amqp://u:hunter2@h/"}), "1")
	require.NoError(t, err)
	assert.NotContains(t, c.Masked()["rabbit_url"], "hunter2")
	// A service logs a store only where it opens one: auth has no Redis, image no MongoDB.
	assert.NotContains(t, c.Masked(), "mongo_url")
	assert.NotContains(t, c.Masked(), "redis_url")
}

func TestEnvInt(t *testing.T) {
	e := config.Env{Getenv: envOf(map[string]string{"N": "7", "BAD": "x"})}
	n, err := e.Int("N", 1)
	require.NoError(t, err)
	assert.Equal(t, 7, n)
	n, err = e.Int("MISSING", 3)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	_, err = e.Int("BAD", 1)
	assert.Error(t, err)
}

func TestLoadMetricsAllow(t *testing.T) {
	c, err := config.Load(envOf(nil), "3002")
	require.NoError(t, err)
	assert.Nil(t, c.MetricsAllow, "unset: pkg/web's default")

	c, err = config.Load(envOf(map[string]string{"METRICS_ALLOW": "127.0.0.1, 10.1.2.3/16 ,fd00::/8"}), "3002")
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("fd00::/8"),
	}, c.MetricsAllow)

	for _, bad := range []string{"localhost", "10.0.0.0/33", "10.0.0.0/8;"} {
		_, err := config.Load(envOf(map[string]string{"METRICS_ALLOW": bad}), "3002")
		assert.Error(t, err, bad)
	}
}
