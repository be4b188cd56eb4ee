package redisd_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/internal/redisd"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/quota"
)

// start runs a server on a free loopback port, keeping its keys in dir, stopped with the test.
func start(t *testing.T, dir string) *redisd.Server {
	t.Helper()
	s, err := redisd.Start(t.Context(), "127.0.0.1:0", dir, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// connect returns a go-redis client of s, configured from its URL as the services do.
func connect(t *testing.T, s *redisd.Server) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(s.URL())
	require.NoError(t, err)
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// go-redis asks for RESP3 with HELLO, is refused, and carries on with RESP2.
func TestGoRedisConnects(t *testing.T) {
	s := start(t, t.TempDir())
	host, _, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)

	for _, protocol := range []int{0, 2, 3} {
		c := redis.NewClient(&redis.Options{Addr: s.Addr(), Protocol: protocol, ClientName: "test"})
		defer c.Close()
		require.NoError(t, c.Ping(t.Context()).Err(), "protocol %d", protocol)
		require.NoError(t, c.Set(t.Context(), "k", "v", 0).Err())
		assert.Equal(t, "v", c.Get(t.Context(), "k").Val())
	}
}

func TestStartListensOnLoopbackByDefault(t *testing.T) {
	s, err := redisd.Start(t.Context(), ":0", t.TempDir(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer s.Close()
	assert.True(t, strings.HasPrefix(s.Addr(), "127.0.0.1:"), s.Addr())
}

func TestStringCommands(t *testing.T) {
	ctx := t.Context()
	c := connect(t, start(t, t.TempDir()))

	assert.Equal(t, "PONG", c.Ping(ctx).Val())
	assert.Equal(t, "hi", c.Echo(ctx, "hi").Val())
	assert.ErrorIs(t, c.Get(ctx, "missing").Err(), redis.Nil)

	require.NoError(t, c.Set(ctx, "a", "1", 0).Err())
	assert.Equal(t, "1", c.Get(ctx, "a").Val())

	// SET NX / XX and SETNX, as the image service stores each image once.
	assert.False(t, c.SetNX(ctx, "a", "2", 0).Val(), "SET NX on a present key")
	assert.True(t, c.SetNX(ctx, "b", "2", 0).Val(), "SET NX on an absent key")
	assert.False(t, c.SetXX(ctx, "c", "3", 0).Val(), "SET XX on an absent key")
	assert.True(t, c.SetXX(ctx, "a", "one", 0).Val(), "SET XX on a present key")
	assert.Equal(t, int64(0), c.Do(ctx, "SETNX", "a", "x").Val())
	assert.Equal(t, int64(1), c.Do(ctx, "SETNX", "c", "3").Val())

	assert.Equal(t, []any{"one", "2", nil, "3"}, c.MGet(ctx, "a", "b", "nope", "c").Val())
	assert.Equal(t, int64(2), c.Exists(ctx, "a", "b", "nope").Val())
	assert.Equal(t, int64(3), c.DBSize(ctx).Val())
	assert.Equal(t, int64(2), c.Del(ctx, "a", "b", "nope").Val())
	assert.Equal(t, int64(1), c.DBSize(ctx).Val())

	assert.Equal(t, int64(1), c.Incr(ctx, "n").Val())
	assert.Equal(t, int64(2), c.Incr(ctx, "n").Val())
	c.Set(ctx, "word", "abc", 0)
	assert.ErrorContains(t, c.Incr(ctx, "word").Err(), "not an integer", "INCR on a non-number")
	c.Set(ctx, "c", "41", 0)
	assert.Equal(t, int64(42), c.Incr(ctx, "c").Val())
	assert.Equal(t, int64(142), c.IncrBy(ctx, "c", 100).Val())
	assert.Equal(t, int64(-8), c.IncrBy(ctx, "c", -150).Val(), "a negative increment")
	assert.Equal(t, int64(7), c.IncrBy(ctx, "new", 7).Val(), "INCRBY on no key starts from 0")
	assert.ErrorContains(t, c.Do(ctx, "INCRBY", "c", "x").Err(), "not an integer")
	c.Set(ctx, "big", "9223372036854775800", 0)
	assert.ErrorContains(t, c.IncrBy(ctx, "big", 10).Err(), "overflow")

	binary := []byte("zero\x00byte\r\nand CRLF")
	require.NoError(t, c.Set(ctx, "bin", binary, 0).Err())
	got, err := c.Get(ctx, "bin").Bytes()
	require.NoError(t, err)
	assert.Equal(t, binary, got)

	assert.NoError(t, c.Do(ctx, "SELECT", "0").Err())
	assert.ErrorContains(t, c.Do(ctx, "SELECT", "1").Err(), "out of range")
	assert.NoError(t, c.Do(ctx, "CLIENT", "SETINFO", "LIB-NAME", "x").Err())
	assert.ErrorContains(t, c.Do(ctx, "HSET", "h", "f", "v").Err(), "unknown command")
	assert.ErrorContains(t, c.Do(ctx, "GET").Err(), "wrong number of arguments")
	assert.ErrorContains(t, c.Do(ctx, "SET", "k", "v", "NX", "XX").Err(), "syntax")
	assert.ErrorContains(t, c.Do(ctx, "SET", "k", "v", "EX", "soon").Err(), "not an integer")
	assert.ErrorContains(t, c.Do(ctx, "SET", "k", "v", "EX", "0").Err(), "invalid expire")

	require.NoError(t, c.FlushDB(ctx).Err())
	assert.Equal(t, int64(0), c.DBSize(ctx).Val())
}

func TestExpiry(t *testing.T) {
	ctx := t.Context()
	c := connect(t, start(t, t.TempDir()))

	assert.Equal(t, time.Duration(-2), c.TTL(ctx, "missing").Val(), "TTL of no key")
	c.Set(ctx, "forever", "v", 0)
	assert.Equal(t, time.Duration(-1), c.TTL(ctx, "forever").Val(), "TTL of a key without expiry")

	c.Set(ctx, "hour", "v", time.Hour)
	ttl := c.TTL(ctx, "hour").Val()
	assert.True(t, ttl > 59*time.Minute && ttl <= time.Hour, "TTL %s", ttl)
	c.SetArgs(ctx, "hour", "w", redis.SetArgs{KeepTTL: true})
	assert.Greater(t, c.TTL(ctx, "hour").Val(), 59*time.Minute, "KEEPTTL keeps it")
	c.Set(ctx, "hour", "x", 0)
	assert.Equal(t, time.Duration(-1), c.TTL(ctx, "hour").Val(), "a plain SET clears it")

	assert.True(t, c.Expire(ctx, "forever", time.Minute).Val())
	assert.Greater(t, c.PTTL(ctx, "forever").Val(), 59*time.Second)
	assert.False(t, c.Expire(ctx, "missing", time.Minute).Val())
	assert.True(t, c.Do(ctx, "EXPIRE", "forever", "0").Val() == int64(1))
	assert.Equal(t, int64(0), c.Exists(ctx, "forever").Val(), "EXPIRE 0 deletes")

	c.Set(ctx, "counted", "1", time.Hour)
	c.IncrBy(ctx, "counted", 5)
	assert.Greater(t, c.TTL(ctx, "counted").Val(), 59*time.Minute, "INCRBY keeps the time to live")

	c.Set(ctx, "brief", "v", 0)
	assert.True(t, c.PExpire(ctx, "brief", time.Millisecond).Val())
	require.Eventually(t, func() bool { return c.Exists(ctx, "brief").Val() == 0 }, 5*time.Second, 5*time.Millisecond)
	assert.ErrorIs(t, c.Get(ctx, "brief").Err(), redis.Nil)
	assert.True(t, c.SetNX(ctx, "brief", "again", 0).Val(), "an expired key is absent for SET NX")
}

// Keys survive a restart: values, deletions and expiries, whatever the key or value holds.
func TestKeysSurviveARestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := start(t, dir)
	c := connect(t, s)

	large := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB
	longKey := strings.Repeat("k", 1000)
	require.NoError(t, c.Set(ctx, "image:1", large, 0).Err())
	require.NoError(t, c.Set(ctx, longKey, "long key", 0).Err())
	require.NoError(t, c.Set(ctx, "odd key/\x00é", "odd", 0).Err())
	require.NoError(t, c.Set(ctx, "empty", "", 0).Err())
	require.NoError(t, c.Set(ctx, "gone", "v", 0).Err())
	require.NoError(t, c.Set(ctx, "counter", "0", 0).Err())
	require.NoError(t, c.Set(ctx, "ttl", "v", time.Hour).Err())
	require.NoError(t, c.Set(ctx, "expired", "v", 0).Err())
	require.NoError(t, c.PExpire(ctx, "expired", time.Millisecond).Err())
	c.Del(ctx, "gone")
	c.Incr(ctx, "counter")
	c.Set(ctx, "overwritten", "old", 0)
	c.Set(ctx, "overwritten", "new", 0)
	require.NoError(t, c.Close())
	require.NoError(t, s.Close())
	time.Sleep(2 * time.Millisecond) // past "expired"'s expiry, whatever the clock's resolution

	c = connect(t, start(t, dir))
	got, err := c.Get(ctx, "image:1").Bytes()
	require.NoError(t, err)
	assert.Equal(t, large, got)
	assert.Equal(t, "long key", c.Get(ctx, longKey).Val())
	assert.Equal(t, "odd", c.Get(ctx, "odd key/\x00é").Val())
	empty, err := c.Get(ctx, "empty").Result()
	assert.NoError(t, err)
	assert.Empty(t, empty)
	assert.Equal(t, "1", c.Get(ctx, "counter").Val())
	assert.Equal(t, "new", c.Get(ctx, "overwritten").Val())
	assert.ErrorIs(t, c.Get(ctx, "gone").Err(), redis.Nil)
	assert.ErrorIs(t, c.Get(ctx, "expired").Err(), redis.Nil)
	assert.Greater(t, c.TTL(ctx, "ttl").Val(), 59*time.Minute, "expiry kept")
	assert.Equal(t, int64(7), c.DBSize(ctx).Val())

	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, files, 7, "one file per live key")

	require.NoError(t, c.FlushDB(ctx).Err())
	files, err = os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, files, "FLUSHDB removes the files")
}

func TestStartIgnoresInterruptedWrites(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tmp-123"), []byte("half a write"), 0o600))
	c := connect(t, start(t, dir))
	assert.Equal(t, int64(0), c.DBSize(t.Context()).Val())
	_, err := os.Stat(filepath.Join(dir, "tmp-123"))
	assert.ErrorIs(t, err, os.ErrNotExist, "left-over temporary file removed")
}

func TestStartRefusesACorruptFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.kv"), []byte("short"), 0o600))
	_, err := redisd.Start(t.Context(), "127.0.0.1:0", dir, slog.New(slog.DiscardHandler))
	assert.ErrorContains(t, err, "bad.kv")
}

func TestConcurrentClients(t *testing.T) {
	ctx := t.Context()
	c := connect(t, start(t, t.TempDir()))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				assert.NoError(t, c.Incr(ctx, "n").Err())
				assert.NoError(t, c.SetNX(ctx, fmt.Sprintf("once:%d", i), w, 0).Err())
			}
		})
	}
	wg.Wait()
	assert.Equal(t, "40", c.Get(ctx, "n").Val())
	assert.Equal(t, int64(11), c.DBSize(ctx).Val())
}

func TestQuitAndInlineCommands(t *testing.T) {
	s := start(t, t.TempDir())
	conn, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	defer conn.Close()
	r := bufio.NewReader(conn)

	fmt.Fprint(conn, "PING\r\n")
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "+PONG\r\n", line)

	fmt.Fprint(conn, "*1\r\n$4\r\nQUIT\r\n")
	line, err = r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "+OK\r\n", line)
	_, err = r.ReadByte()
	assert.Error(t, err, "the server closed the connection")
}

func TestCloseStopsServing(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := redisd.Start(ctx, "127.0.0.1:0", t.TempDir(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	defer c.Close()
	require.NoError(t, c.Ping(t.Context()).Err())

	cancel()
	require.NoError(t, s.Close())
	assert.Error(t, c.Ping(t.Context()).Err(), "open connections are closed")
	_, err = net.Dial("tcp", s.Addr())
	assert.Error(t, err, "nothing listens any more")
}

// The services' quota counter (pkg/quota) works on the stand-in: pipelined INCRBY and EXPIRE.
func TestQuotaCounter(t *testing.T) {
	ctx := t.Context()
	c := quota.NewCounter(connect(t, start(t, t.TempDir())), "image:", time.Now)
	uploads := quota.Limit{Name: "uploads", Max: 2, Per: time.Hour}
	bytes := quota.Limit{Name: "bytes", Max: 100, Per: time.Hour}
	require.NoError(t, c.Take(ctx, "ann", quota.Charge{Limit: uploads, Amount: 1}, quota.Charge{Limit: bytes, Amount: 60}))
	assert.ErrorIs(t, c.Take(ctx, "ann", quota.Charge{Limit: uploads, Amount: 1}, quota.Charge{Limit: bytes, Amount: 60}), errs.RateLimited)
	require.NoError(t, c.Take(ctx, "ann", quota.Charge{Limit: uploads, Amount: 1}, quota.Charge{Limit: bytes, Amount: 40}))
	assert.ErrorIs(t, c.Take(ctx, "ann", quota.Charge{Limit: uploads, Amount: 1}, quota.Charge{Limit: bytes, Amount: 0}), errs.RateLimited)
}
