// Package testkit gives tests real servers to talk to, each test isolated in its own MongoDB
// database, RabbitMQ virtual host or Redis key prefix, all removed when the test ends. A server
// that does not answer skips the test, unless TEST_REQUIRE_SERVERS=1 (set by `make test`), which
// fails it instead.
package testkit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// Default server addresses; MONGO_URL, RABBIT_URL and REDIS_URL override them.
const (
	DefaultMongoURL  = "mongodb://127.0.0.1:29018/"
	DefaultRabbitURL = "amqp://guest:guest@127.0.0.1:5672/"
	DefaultRedisURL  = "redis://127.0.0.1:6379/0"
)

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// unavailable skips or fails the test for a server that does not answer. A skip is also
// announced on the terminal (see announceSkip), so a plain `go test ./...` without the servers
// says loudly what it did not test.
func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("TEST_REQUIRE_SERVERS") == "1" {
		t.Fatalf("%s is required but does not answer: %v", what, err)
	}
	announceSkip(fmt.Sprintf("SKIPPED %s: %s does not answer (%v); start it (make test does) or set TEST_REQUIRE_SERVERS=1 to fail instead",
		t.Name(), what, err))
	t.Skipf("%s does not answer (%v); set TEST_REQUIRE_SERVERS=1 to fail instead", what, err)
}

// announceSkip writes line where a person running `go test ./...` sees it. The go command
// shows nothing of a passing package but its "ok" line, so the line goes to the go command's
// own standard error (the test binary's parent) when that is a terminal or a pipe, as in a CI
// log; elsewhere only `go test -v` shows the skip.
func announceSkip(line string) {
	parentErr := fmt.Sprintf("/proc/%d/fd/2", os.Getppid())
	target, err := os.Readlink(parentErr)
	if err != nil || !(strings.HasPrefix(target, "pipe:") || strings.HasPrefix(target, "/dev/pts/") || target == "/dev/tty") {
		return
	}
	f, err := os.OpenFile(parentErr, os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = fmt.Fprintln(f, "\n*** "+line+" ***")
}

// Name returns a short unique name for a database, vhost or prefix.
func Name(prefix string) string {
	return prefix + "_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
}

// MongoURL returns the MongoDB-wire server's URL, skipping the test when none answers.
func MongoURL(t testing.TB) string {
	t.Helper()
	u := env("MONGO_URL", DefaultMongoURL)
	client, err := mongox.Connect(context.Background(), u)
	if err != nil {
		unavailable(t, "MongoDB-wire server at "+u, err)
	}
	_ = client.Disconnect(context.Background())
	return u
}

// Mongo returns a fresh database on the MongoDB-wire server, dropped when the test ends.
func Mongo(t testing.TB) *mongo.Database {
	t.Helper()
	u := env("MONGO_URL", DefaultMongoURL)
	client, err := mongox.Connect(context.Background(), u)
	if err != nil {
		unavailable(t, "MongoDB-wire server at "+u, err)
	}
	db := client.Database(Name("test"))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = db.Drop(ctx)
		_ = client.Disconnect(ctx)
	})
	return db
}

// RabbitURL returns the URL of a fresh virtual host on the machine's RabbitMQ, deleted when the
// test ends, so tests never see each other's queues. Vhosts are made through RabbitMQ's
// management API (port 15672 of RABBIT_URL's host, or RABBIT_ADMIN_URL; make test enables the
// plugin) or, where it does not answer, with rabbitmqctl: each of its runs starts an Erlang VM,
// about half a second of CPU, and a test needs three.
func RabbitURL(t testing.TB) string {
	t.Helper()
	base := env("RABBIT_URL", DefaultRabbitURL)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("RABBIT_URL: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second); err != nil {
		unavailable(t, "RabbitMQ at "+u.Host, err)
	} else {
		conn.Close()
	}
	vhost := Name("test")
	user := u.User.Username()
	if api := rabbitAPI(); api != nil {
		api.call(t, http.MethodPut, "/api/vhosts/"+vhost, "")
		api.call(t, http.MethodPut, "/api/permissions/"+vhost+"/"+url.PathEscape(user),
			`{"configure":".*","write":".*","read":".*"}`)
		t.Cleanup(func() { api.call(t, http.MethodDelete, "/api/vhosts/"+vhost, "") })
	} else {
		rabbitctl(t, "add_vhost", vhost)
		rabbitctl(t, "set_permissions", "-p", vhost, user, ".*", ".*", ".*")
		t.Cleanup(func() { rabbitctl(t, "delete_vhost", vhost) })
	}
	u.Path = "/" + vhost
	return u.String()
}

// rabbitAdmin is RabbitMQ's management API, signed in as RABBIT_URL's user.
type rabbitAdmin struct {
	base   string
	client http.Client
}

// rabbitAPI returns the management API of RABBIT_URL's broker, or nil when it does not answer;
// it asks once per test process.
var rabbitAPI = sync.OnceValue(func() *rabbitAdmin {
	u, err := url.Parse(env("RABBIT_URL", DefaultRabbitURL))
	if err != nil {
		return nil
	}
	api, err := url.Parse(env("RABBIT_ADMIN_URL", "http://"+u.Hostname()+":15672"))
	if err != nil {
		return nil
	}
	api.User = u.User
	a := &rabbitAdmin{base: strings.TrimSuffix(api.String(), "/"), client: http.Client{Timeout: time.Minute}}
	if status, err := a.do(http.MethodGet, "/api/whoami", ""); err != nil || status != http.StatusOK {
		return nil
	}
	return a
})

// do sends one request and returns its status.
func (a *rabbitAdmin) do(method, path, body string) (int, error) {
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := a.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

// call is do, failing the test unless the API answers with a 2xx status.
func (a *rabbitAdmin) call(t testing.TB, method, path, body string) {
	t.Helper()
	status, err := a.do(method, path, body)
	if err != nil || status/100 != 2 {
		t.Fatalf("RabbitMQ management API %s %s: status %d, %v", method, path, status, err)
	}
}

func rabbitctl(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", append([]string{"-q"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Redis returns a client of the machine's Redis and a key prefix unique to the test; keys
// under the prefix are deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(env("REDIS_URL", DefaultRedisURL))
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		unavailable(t, "Redis at "+opts.Addr, err)
	}
	prefix := Name("test") + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		_ = client.Close()
	})
	return client, prefix
}

// Logger returns a logger that writes into the test's log (shown with -v or on failure). A fuzz
// target's log cannot be written once fuzzing starts: its logger writes only warnings and errors,
// to standard error.
func Logger(t testing.TB) *slog.Logger {
	if _, fuzz := t.(*testing.F); fuzz {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewJSONHandler(LogWriter(t), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// LogWriter returns a writer into the test's log, for a service's or process's output. Lines
// written after the test has ended are dropped (testing panics on a late Log).
func LogWriter(t testing.TB) io.Writer {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.ended = true
	})
	return w
}

type testWriter struct {
	t     testing.TB
	mu    sync.Mutex
	ended bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ended {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
