package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

var serviceNames = []string{"auth", "image", "catalog", "cart", "orders", "web"}

// shop is a running fleet, however it was started.
type shop struct {
	urls          map[string]string
	adminLogin    string
	adminPassword string
}

const adminLogin, adminPassword = "shopadmin", "admin-password-e2e"

// fastTimers shortens the background loops (re-sends, batch jobs) so the tests see them act.
var fastTimers = map[string]string{
	"CART_RESEND_INTERVAL":             "1s",
	"CART_VALIDATE_INTERVAL":           "2s",
	"CART_VALIDATE_BATCH":              "20",
	"ORDERS_STUCK_AFTER":               "3s",
	"ORDERS_JOB_PLACED_EVERY":          "1s",
	"ORDERS_JOB_VALIDATED_EVERY":       "5s",
	"ORDERS_JOB_INVALID_EVERY":         "5s",
	"ORDERS_JOB_PAYMENT_DEFINED_EVERY": "5s",
	"ORDERS_JOB_SHIPPED_EVERY":         "5s",
	"ORDERS_JOB_CANCELLED_EVERY":       "5s",
	"ORDERS_JOB_DELIVERED_EVERY":       "5s",
}

// quotasOff turns the per-account quotas (SPEC §2) off, for fleets whose tests send one
// account's requests faster than a person would (streams of checkouts, retries under faults).
var quotasOff = map[string]string{
	"CART_CHECKOUTS_PER_MINUTE": "0",
	"IMAGE_UPLOADS_PER_HOUR":    "0",
	"IMAGE_UPLOAD_MB_PER_HOUR":  "0",
	"ORDERS_MAX_UNPAID":         "0",
}

// unpaidLimitOff lets the suites' shoppers hold any number of unpaid orders
// (ORDERS_MAX_UNPAID); the tests of the limit set it themselves.
var unpaidLimitOff = map[string]string{"ORDERS_MAX_UNPAID": "0"}

// freePort returns a port nobody listens on, above the kernel's range for the ports of
// outgoing connections (32768–60999 on Linux): a port from that range could be taken by one of
// the many connections of the fleets running side by side between this check and the service's
// own listen. Each port is handed out once per test process, from a random start.
func freePort(t testing.TB) string {
	const first, count = 61000, 4500
	for range count {
		port := first + int(nextPort.Add(1))%count
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			_ = l.Close()
			return fmt.Sprint(port)
		}
	}
	t.Fatal("no free port")
	return ""
}

var nextPort = func() *atomic.Int32 {
	var n atomic.Int32
	n.Store(rand.Int32N(4500))
	return &n
}()

// fleetTurn waits until no other fleet of the suite is starting, or dropping its databases, and
// returns the func that ends this one's turn. Fleets started side by side made two problems: a
// start creates every service's collections and indexes (as a test's end drops them), and
// FerretDB makes such changes one at a time while every other command of the server waits
// behind them; and a dozen fleets starting at once, beside the other stream's race builds on a
// new machine, starved every process of CPU. Both stalled requests past the services' timeouts.
func fleetTurn() (done func()) {
	fleetTurns <- struct{}{}
	return func() { <-fleetTurns }
}

var fleetTurns = make(chan struct{}, 1)

func serviceURLs(t testing.TB) (map[string]string, map[string]string) {
	urls, env := map[string]string{}, map[string]string{}
	for _, s := range serviceNames {
		u := "http://127.0.0.1:" + freePort(t)
		urls[s] = u
		env[strings.ToUpper(s)+"_SERVICE_URL"] = u
	}
	return urls, env
}

// startEmbedded runs the all-in-one fleet as `make run` does: the ecommerce binary, on a fresh
// data folder, configured only by env. extra ("KEY=value") is set last, over the fleet's own
// settings. (It runs in a process of its own and without the race detector, like the service
// binaries of startProcesses: the services' own tests race-check their code, and FerretDB's
// SQLite under the race detector is ten times slower.)
func startEmbedded(t *testing.T, extra ...string) *shop {
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	defer fleetTurn()()
	urls, urlVars := serviceURLs(t)
	env := []string{
		"DATA_DIR=" + t.TempDir(),
		"EMBEDDED_MONGO_ADDR=127.0.0.1:" + freePort(t),
		"EMBEDDED_REDIS_ADDR=127.0.0.1:" + freePort(t),
		"AUTH_BOOTSTRAP_ADMIN=" + adminLogin + ":" + adminPassword,
		"AUTH_SIGNUPS_PER_HOUR=0", // the suites sign many users up from 127.0.0.1
		"LOG_LEVEL=warn",
	}
	env = append(env, vars(urlVars, fastTimers, unpaidLimitOff)...)
	done := make(chan error, 1)
	runProcess(t, filepath.Join(bin, "ecommerce"), append(env, extra...), 30*time.Second, done)
	waitReady(t, urls, done)
	return &shop{urls: urls, adminLogin: adminLogin, adminPassword: adminPassword}
}

// buildOnce builds the all-in-one binary and each service's own binary, once per test run.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ecommerce-bin-")
	if err != nil {
		return "", err
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	build := func(name, folder, pkg string) error {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Dir = folder
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v: %s", name, err, out)
		}
		return nil
	}
	if err := build("ecommerce", root, "./cmd/ecommerce"); err != nil {
		return "", err
	}
	for _, s := range serviceNames {
		if err := build(s, filepath.Join(root, s), "./cmd/"+s); err != nil {
			return "", err
		}
	}
	return dir, nil
})

// startProcesses runs every service as its own process, configured only by the environment of
// SPEC §1, on real servers: RabbitMQ at rabbitURL, the machine's Redis and the MongoDB-wire server.
// env ("KEY=value") is added to every process's environment, over the fleet's own settings.
func startProcesses(t *testing.T, rabbitURL string, env ...string) *shop {
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	defer fleetTurn()()
	urls, urlVars := serviceURLs(t)
	mongoURL := testkit.MongoURL(t)
	_, redisPrefix := testkit.Redis(t)
	common := []string{
		"RABBIT_URL=" + rabbitURL,
		"MONGO_URL=" + mongoURL,
		"REDIS_URL=" + envOr("REDIS_URL", testkit.DefaultRedisURL),
		"IMAGE_REDIS_PREFIX=" + redisPrefix,
		"JWT_SECRET=e2e-secret-0123456789abcdef0123456789abcdef",
		"AUTH_BOOTSTRAP_ADMIN=" + adminLogin + ":" + adminPassword,
		"AUTH_SIGNUPS_PER_HOUR=0", // the suites sign many users up from 127.0.0.1
		"LOG_LEVEL=warn",
	}
	common = append(common, vars(urlVars, fastTimers, unpaidLimitOff)...)
	common = append(common, env...) // last: the last value of a variable is the one a process sees
	dbSuffix := testkit.Name("e2e")
	t.Cleanup(func() { dropDatabases(t, mongoURL, dbSuffix) }) // runs last: after the processes stopped
	done := make(chan error, len(serviceNames))
	for _, s := range serviceNames {
		port := urls[s][strings.LastIndex(urls[s], ":")+1:]
		runProcess(t, filepath.Join(bin, s), append(common, "PORT="+port, "MONGO_DB="+s+"_"+dbSuffix), 20*time.Second, done)
	}
	waitReady(t, urls, done)
	return &shop{urls: urls, adminLogin: adminLogin, adminPassword: adminPassword}
}

// runProcess starts binary with env as its whole environment (and PATH), its output in the
// test's log. When it exits, a message goes to done, unless done is full. When the test ends it
// gets SIGINT, and the test fails unless it exits within stop.
func runProcess(t *testing.T, binary string, env []string, stop time.Duration, done chan<- error) {
	t.Helper()
	name := filepath.Base(binary)
	cmd := exec.Command(binary)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdout = testkit.LogWriter(t)
	cmd.Stderr = testkit.LogWriter(t)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		exited <- err
		select {
		case done <- fmt.Errorf("%s exited: %v", name, err):
		default:
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("%s stopped with: %v", name, err)
			}
		case <-time.After(stop):
			_ = cmd.Process.Kill()
			t.Errorf("%s did not stop within %v of SIGINT", name, stop)
		}
	})
}

// vars lists the variables of each map as "KEY=value".
func vars(maps ...map[string]string) []string {
	var out []string
	for _, m := range maps {
		for k, v := range m {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// waitReady waits until every service's /readyz answers 200.
func waitReady(t *testing.T, urls map[string]string, died <-chan error) {
	t.Helper()
	for _, s := range serviceNames {
		testkit.WaitReady(t, urls[s], 90*time.Second, died)
	}
}

func dropDatabases(t testing.TB, mongoURL, suffix string) {
	defer fleetTurn()()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := mongox.Connect(ctx, mongoURL)
	if err != nil {
		return
	}
	defer client.Disconnect(ctx)
	for _, s := range serviceNames {
		_ = client.Database(s + "_" + suffix).Drop(ctx)
	}
}
