package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// A fleet of several instances of every service, each its own process on its own port, all
// against one RabbitMQ virtual host and one MongoDB-wire server, as on Kubernetes. Between
// the services and in front of them sits a small balancer per service that spreads requests
// over the instances that answer /readyz — the part a Kubernetes Service plays.

// proc is one service process. A test may kill it (SIGKILL) and start it again on the same
// port with the same environment, as a supervisor would.
type proc struct {
	t       testing.TB
	service string
	url     string
	bin     string
	env     []string
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func (p *proc) String() string { return p.service + "@" + p.url }

// start starts the process and waits until its /readyz answers 200.
func (p *proc) start() {
	p.t.Helper()
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(p.t, err)
	cmd := exec.Command(p.bin)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(p.t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	waitURLReady(p.t, p.url, exited, 90*time.Second)
}

// kill SIGKILLs the process: no graceful shutdown, in-flight requests and messages are cut.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// stop interrupts the process and waits for its graceful shutdown.
func (p *proc) stop() error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	select {
	case <-exited:
		return nil // killed by the test and not started again
	default:
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
		return nil
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not stop within 20s of SIGINT", p)
	}
}

// waitURLReady waits until base/readyz answers 200, failing the test after timeout or when
// exited is closed first.
func waitURLReady(t testing.TB, base string, exited <-chan struct{}, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before it was ready", base)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %s (last error: %v)", base, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// balancer spreads requests round-robin over the instances whose /readyz answered 200 at the
// last probe (every 200 ms), like a Kubernetes Service over ready pods. When none is ready it
// tries them all, so a client sees the services' own answers (503) rather than the balancer's.
// A request whose instance does not answer at all gets 502 from the balancer.
type balancer struct {
	url      string
	backends []*url.URL
	ready    []atomic.Bool
	next     atomic.Uint64
}

func startBalancer(t testing.TB, backends []string) *balancer {
	b := &balancer{ready: make([]atomic.Bool, len(backends))}
	for _, raw := range backends {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		b.backends = append(b.backends, u)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(b.pick())
			r.Out.Host = r.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, `{"error":"balancer: `+strings.ReplaceAll(err.Error(), `"`, `'`)+`"}`, http.StatusBadGateway)
		},
	}
	srv := httptest.NewServer(proxy)
	b.url = srv.URL
	stop := make(chan struct{})
	done := make(chan struct{})
	go b.probe(stop, done)
	t.Cleanup(func() { close(stop); <-done; srv.Close() })
	b.probeOnce(&http.Client{Timeout: time.Second})
	return b
}

func (b *balancer) pick() *url.URL {
	n := uint64(len(b.backends))
	start := b.next.Add(1)
	for i := range n {
		if j := (start + i) % n; b.ready[j].Load() {
			return b.backends[j]
		}
	}
	return b.backends[start%n]
}

func (b *balancer) probe(stop, done chan struct{}) {
	defer close(done)
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			b.probeOnce(client)
		}
	}
}

func (b *balancer) probeOnce(client *http.Client) {
	for i, u := range b.backends {
		resp, err := client.Get(u.String() + "/readyz")
		ok := err == nil && resp.StatusCode == http.StatusOK
		if err == nil {
			resp.Body.Close()
		}
		b.ready[i].Store(ok)
	}
}

// fleetTimers are the background loops' paces in these fleets: fast enough for a test to see
// them act, slow enough not to bury a loaded machine under repeats. (With the 1-second re-sends
// of fastTimers, two instances of each service on a busy shared machine spent most of their
// time on copies of place_order and order_placed; re-sends and repairs now back off, but start
// from these paces.)
var fleetTimers = map[string]string{
	"CART_RESEND_INTERVAL":             "20s",
	"CART_VALIDATE_INTERVAL":           "30s",
	"ORDERS_STUCK_AFTER":               "20s",
	"ORDERS_JOB_PLACED_EVERY":          "5s",
	"ORDERS_JOB_VALIDATED_EVERY":       "5s",
	"ORDERS_JOB_INVALID_EVERY":         "5s",
	"ORDERS_JOB_PAYMENT_DEFINED_EVERY": "5s",
	"ORDERS_JOB_SHIPPED_EVERY":         "5s",
	"ORDERS_JOB_CANCELLED_EVERY":       "5s",
	"ORDERS_JOB_DELIVERED_EVERY":       "5s",
}

// fleetConfig says what a multi-instance fleet runs against.
type fleetConfig struct {
	instances int               // of every service
	rabbitURL string            // "" is a fresh virtual host on the machine's RabbitMQ
	mongoURL  string            // "" is the MongoDB-wire server of the tests (MONGO_URL)
	env       map[string]string // added to every process's environment
}

// instances is a running fleet of several instances of every service.
type instances struct {
	procs     map[string][]*proc
	lb        map[string]*balancer
	mongoURL  string
	rabbitURL string
	dbSuffix  string // each service's database is <service>_<dbSuffix>
	logDir    string
}

// startInstances starts cfg.instances processes of every service, each on its own port, and a
// balancer in front of each service; the services reach each other through the balancers.
func startInstances(t *testing.T, cfg fleetConfig) *instances {
	bin, err := buildOnce()
	require.NoError(t, err)
	defer fleetTurn()()
	if cfg.rabbitURL == "" {
		cfg.rabbitURL = testkit.RabbitURL(t)
	}
	if cfg.mongoURL == "" {
		cfg.mongoURL = testkit.MongoURL(t)
	}
	_, redisPrefix := testkit.Redis(t)
	logDir, err := os.MkdirTemp("", "fleet-logs-")
	require.NoError(t, err)
	f := &instances{procs: map[string][]*proc{}, lb: map[string]*balancer{}, mongoURL: cfg.mongoURL, rabbitURL: cfg.rabbitURL,
		dbSuffix: testkit.Name("many"), logDir: logDir}

	ports := map[string][]string{}
	for _, s := range serviceNames {
		var urls []string
		for range cfg.instances {
			port := freePort(t)
			ports[s] = append(ports[s], port)
			urls = append(urls, "http://127.0.0.1:"+port)
		}
		f.lb[s] = startBalancer(t, urls)
	}
	common := []string{
		"RABBIT_URL=" + cfg.rabbitURL,
		"MONGO_URL=" + cfg.mongoURL,
		"REDIS_URL=" + envOr("REDIS_URL", testkit.DefaultRedisURL),
		"IMAGE_REDIS_PREFIX=" + redisPrefix,
		"JWT_SECRET=e2e-secret-0123456789abcdef0123456789abcdef",
		"AUTH_BOOTSTRAP_ADMIN=" + adminLogin + ":" + adminPassword,
		"AUTH_TRUSTED_PROXIES=127.0.0.1",              // the tests sign in "from" many addresses
		"AUTH_SIGNUPS_PER_HOUR=0",                     // and sign many users up from 127.0.0.1
		"LOG_LEVEL=" + envOr("E2E_LOG_LEVEL", "warn"), // the logs are kept when the test fails
		"PATH=" + os.Getenv("PATH"),
	}
	for _, s := range serviceNames {
		common = append(common, strings.ToUpper(s)+"_SERVICE_URL="+f.lb[s].url)
	}
	for k, v := range fleetTimers {
		common = append(common, k+"="+v)
	}
	for k, v := range quotasOff {
		common = append(common, k+"="+v)
	}
	for k, v := range cfg.env {
		common = append(common, k+"="+v)
	}
	t.Cleanup(func() { // last: after the processes stopped; E2E_KEEP=1 keeps them for a look
		if os.Getenv("E2E_KEEP") == "1" {
			t.Logf("databases *_%s kept on %s", f.dbSuffix, cfg.mongoURL)
		} else {
			dropDatabases(t, cfg.mongoURL, f.dbSuffix)
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service logs kept in %s", logDir)
		} else {
			_ = os.RemoveAll(logDir)
		}
	})
	for _, s := range serviceNames {
		for i, port := range ports[s] {
			p := &proc{t: t, service: s, url: "http://127.0.0.1:" + port, bin: filepath.Join(bin, s),
				env:     append(append([]string{}, common...), "PORT="+port, "MONGO_DB="+s+"_"+f.dbSuffix),
				logPath: filepath.Join(logDir, fmt.Sprintf("%s-%d.log", s, i))}
			f.procs[s] = append(f.procs[s], p)
		}
	}
	// auth first: the others check tokens with it, and it creates the admin.
	var starting sync.WaitGroup
	for _, p := range f.procs["auth"] {
		starting.Go(p.start)
	}
	starting.Wait()
	for _, s := range serviceNames[1:] {
		for _, p := range f.procs[s] {
			starting.Go(p.start)
		}
	}
	starting.Wait()
	t.Cleanup(func() {
		var stopping sync.WaitGroup
		for _, ps := range f.procs {
			for _, p := range ps {
				stopping.Go(func() {
					if err := p.stop(); err != nil {
						t.Error(err)
					}
				})
			}
		}
		stopping.Wait()
	})
	for _, b := range f.lb {
		b.probeOnce(&http.Client{Timeout: time.Second})
	}
	return f
}

// balanced returns the balancers' URLs, service by service, for a client.
func (f *instances) balanced() map[string]string {
	urls := map[string]string{}
	for s, b := range f.lb {
		urls[s] = b.url
	}
	return urls
}

// instance returns the URLs of the i-th instance of every service, for a client.
func (f *instances) instance(i int) map[string]string {
	urls := map[string]string{}
	for s, ps := range f.procs {
		urls[s] = ps[i].url
	}
	return urls
}

// tryCall is call that does not fail the test: it returns the status, or the error of a
// request that got no answer. out is decoded from a 200 answer only.
func (c *client) tryCall(method, service, path string, body, out any) (int, error) {
	return c.tryCallFrom("", method, service, path, body, out)
}

// tryCallFrom is tryCall for a client at address from (X-Forwarded-For, which auth believes
// from the loopback address in these fleets), so sign-in limits per address do not bite.
func (c *client) tryCallFrom(from, method, service, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.urls[service]+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if from != "" {
		req.Header.Set("X-Forwarded-For", from)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s%s: %w: %s", method, service, path, err, raw)
		}
	}
	return resp.StatusCode, nil
}

// notSent tells whether err means the request never reached a server (so it had no effect).
func notSent(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}
