package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// Fault tests: a checkout stream runs through a fleet while one fault strikes, bounded in time
// and count, on servers of the test's own (a disposable RabbitMQ node, a disposable FerretDB,
// or a fault proxy in front of the machine's servers — loopback only). Then the end state is
// checked against the stream's accounting (stream.verify). Short versions run in `make test`;
// E2E_LONG=1 (`make faults`) runs them full size.

// checkoutsDone is how many checkouts of the stream have been answered, one way or another.
func (s *stream) checkoutsDone() int {
	s.ops.mu.Lock()
	defer s.ops.mu.Unlock()
	c := s.ops.counts["checkout"]
	if c == nil {
		return 0
	}
	return c[opOK] + c[opFailed] + c[opUnknown]
}

// waitProgress waits until a fraction of the stream's checkouts have been answered.
func (s *stream) waitProgress(t *testing.T, fraction float64) {
	want := int(fraction * float64(s.cfg.shoppers*s.cfg.ordersEach))
	if s.checkoutsDone() >= s.cfg.shoppers*s.cfg.ordersEach {
		return // past the planned stream: it goes on while the faults strike
	}
	deadline := time.Now().Add(5 * time.Minute)
	for s.checkoutsDone() < want {
		require.True(t, time.Now().Before(deadline), "the stream did not reach %d checkouts", want)
		time.Sleep(20 * time.Millisecond)
	}
}

// runWith runs the stream with fault running beside it, in the test's goroutine; the stream
// goes on until fault returns.
func (s *stream) runWith(t *testing.T, fault func()) {
	s.faultsOn.Store(true)
	defer s.faultsOn.Store(false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run(t)
	}()
	fault()
	s.faultsOn.Store(false)
	<-done
}

// statusesSeen returns the statuses of answers the stream's operations got that were not ok.
func (s *stream) statusesSeen() map[string]int {
	s.ops.mu.Lock()
	defer s.ops.mu.Unlock()
	seen := map[string]int{}
	for _, codes := range s.ops.codes {
		for code, n := range codes {
			seen[code] += n
		}
	}
	return seen
}

// faultFleet is a fleet on servers a test may break: a disposable RabbitMQ node and a
// disposable FerretDB, each reached through a fault proxy.
type faultFleet struct {
	*instances
	node                  *testkit.RabbitNode
	store                 *mongowireServer
	amqpProxy, storeProxy *faultProxy
}

// startFaultFleet starts a fleet of instances per service, its RabbitMQ node on rabbitPort.
func startFaultFleet(t *testing.T, instances, rabbitPort int) *faultFleet {
	node := testkit.StartRabbitNode(t, rabbitPort)
	store := startMongowire(t)
	ff := &faultFleet{node: node, store: store,
		amqpProxy: startFaultProxy(t, "amqp", fmt.Sprintf("127.0.0.1:%d", rabbitPort)), storeProxy: startFaultProxy(t, "store", store.addr)}
	ff.instances = startInstances(t, fleetConfig{instances: instances,
		rabbitURL: proxied(t, node.URL, ff.amqpProxy), mongoURL: proxied(t, store.url, ff.storeProxy),
		// Orders nobody pays expire during the stream and its settling (streamConfig.deadline).
		env: map[string]string{"ORDERS_PAYMENT_DEADLINE": faultDeadline}})
	return ff
}

// faultDeadline is the payment deadline of the fault fleets: long enough for a shopper to pay
// what got validated, short enough for the orders nobody pays to expire while the run settles.
const faultDeadline = "45s"

// faultStep strikes one fault while the stream s runs, once s has reached from of its
// checkouts; it may check what it saw during the fault itself.
type faultStep func(t *testing.T, ff *faultFleet, s *stream, from float64)

// runFaults runs a checkout stream through ff with the steps striking in turn, then checks the
// end state against the stream's accounting.
func runFaults(t *testing.T, ff *faultFleet, seed uint64, what string, steps ...faultStep) {
	s := startStream(t, ff.balanced(), streamConfig{shoppers: pick(6, 25), ordersEach: pick(4, 8), seed: seed, deadline: true})
	s.runWith(t, func() {
		for i, step := range steps {
			step(t, ff, s, float64(i+1)/float64(len(steps)+2))
		}
	})
	s.verify(t, ff.instances, what, pick(4*time.Minute, 10*time.Minute))
	assert.Zero(t, s.statusesSeen()["500"], "no 500 in the stream: %v", s.statusesSeen())
}

// TestFaults strikes every fault below in turn during one stream through one fleet: the short
// version `make test` runs. E2E_LONG=1 runs each fault alone instead (TestFaultsAlone).
func TestFaults(t *testing.T) {
	parallel(t)
	if longRuns() {
		t.Skip("E2E_LONG=1 runs each fault in a test of its own")
	}
	runFaults(t, startFaultFleet(t, 1, 5698), 20,
		"RabbitMQ SIGKILLed, catalog, cart and orders SIGKILLed, store stopped 10 s, network faults",
		brokerKilled, servicesKilled, storeStopped, networkFaults)
}

// TestFaultsAlone runs each fault alone, longer, on two instances of every service (E2E_LONG=1,
// make faults).
func TestFaultsAlone(t *testing.T) {
	parallel(t)
	if !longRuns() {
		t.Skip("E2E_LONG=1 (make faults) runs it; make test runs TestFaults")
	}
	for i, fault := range []struct {
		name, what string
		step       faultStep
	}{
		{"broker killed", "RabbitMQ SIGKILLed mid-stream and restarted", brokerKilled},
		{"services killed", "catalog, cart and orders SIGKILLed in turn mid-stream and restarted", servicesKilled},
		{"store stopped", "store stopped 10 s mid-stream", storeStopped},
		{"network", "latency, cut connections and half-open links on AMQP and the store", networkFaults},
	} {
		t.Run(fault.name, func(t *testing.T) {
			runFaults(t, startFaultFleet(t, 2, 5699), uint64(21+i), fault.what, fault.step)
		})
	}
}

// brokerKilled SIGKILLs RabbitMQ and starts it again on its data.
func brokerKilled(t *testing.T, ff *faultFleet, s *stream, from float64) {
	s.waitProgress(t, from)
	ff.node.Kill()
	t.Logf("RabbitMQ SIGKILLed after %d checkouts", s.checkoutsDone())
	time.Sleep(pick(2*time.Second, 5*time.Second))
	ff.node.Start()
	t.Logf("RabbitMQ started again after %d checkouts", s.checkoutsDone())
}

// servicesKilled SIGKILLs catalog, cart and orders in turn and starts them again: one instance
// (with two, the other keeps serving); in long runs, both orders instances at once.
func servicesKilled(t *testing.T, ff *faultFleet, s *stream, from float64) {
	s.waitProgress(t, from)
	for _, service := range []string{"catalog", "cart", "orders"} {
		victims := ff.procs[service][:1]
		if longRuns() && service == "orders" {
			victims = ff.procs[service]
		}
		for _, p := range victims {
			p.kill()
		}
		t.Logf("%d %s instance(s) SIGKILLed after %d checkouts", len(victims), service, s.checkoutsDone())
		time.Sleep(time.Second)
		for _, p := range victims {
			p.start()
		}
		t.Logf("%s started again after %d checkouts", service, s.checkoutsDone())
	}
}

// mongowireServer is a disposable MongoDB-wire server: the repository's cmd/mongowire (FerretDB)
// on its own port over a PostgreSQL database of its own, which the test may kill and restart.
type mongowireServer struct {
	t    *testing.T
	bin  string
	addr string
	pg   string
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

var buildMongowire = sync.OnceValues(func() (string, error) {
	dir, err := buildOnce()
	if err != nil {
		return "", err
	}
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "mongowire"), "./cmd/mongowire")
	cmd.Dir = filepath.Dir(filepath.Dir(file))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build mongowire: %v: %s", err, out)
	}
	return filepath.Join(dir, "mongowire"), nil
})

func startMongowire(t *testing.T) *mongowireServer {
	bin, err := buildMongowire()
	require.NoError(t, err)
	pgURL := envOr("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/")
	db := testkit.Name("faultstore")
	if out, err := exec.Command("psql", pgURL+"postgres", "-qc", "CREATE DATABASE "+db).CombinedOutput(); err != nil {
		if os.Getenv("TEST_REQUIRE_SERVERS") == "1" {
			t.Fatalf("PostgreSQL at %s: %v: %s", pgURL, err, out)
		}
		t.Skipf("PostgreSQL at %s does not answer: %v: %s", pgURL, err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command("psql", pgURL+"postgres", "-qc", "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)").Run()
	})
	addr := "127.0.0.1:" + freePort(t)
	// 30 PostgreSQL connections at most: make test's two servers take 30 each, of PostgreSQL's 100.
	m := &mongowireServer{t: t, bin: bin, addr: addr, pg: pgURL + db + "?pool_max_conns=30", url: "mongodb://" + addr + "/"}
	m.start()
	t.Cleanup(func() {
		if m.cmd != nil {
			_ = m.cmd.Process.Signal(os.Interrupt)
			<-m.done
		}
	})
	return m
}

func (m *mongowireServer) start() {
	m.cmd = exec.Command(m.bin, "-addr", m.addr, "-postgres", m.pg)
	m.cmd.Stdout, m.cmd.Stderr = testkit.LogWriter(m.t), testkit.LogWriter(m.t)
	require.NoError(m.t, m.cmd.Start())
	m.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(m.cmd, m.done)
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", m.addr, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		require.True(m.t, time.Now().Before(deadline), "mongowire did not listen on %s: %v", m.addr, err)
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *mongowireServer) kill() {
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	<-m.done
	m.cmd = nil
}

// outageProbes are requests to every instance of a service during the store's outage. A read
// answered from a read model in memory (catalog's articles, cart's open carts) may still be
// answered 200 while the store is down; the others need the store and must get 503.
var outageProbes = []struct {
	service, method, path string
	readModel             bool
}{
	{"auth", http.MethodGet, "/users/current", false},
	{"catalog", http.MethodGet, "/articles/search/mug", true},
	{"cart", http.MethodGet, "/cart", true},
	{"orders", http.MethodGet, "/orders", false},
}

// storeStopped stops the MongoDB-wire server for 10 s: requests that need it get 503 (never
// 500, never a hang past the server's write timeout), /readyz is 503, and everything recovers
// without restarting a service.
func storeStopped(t *testing.T, ff *faultFleet, s *stream, from float64) {
	const serverWriteTimeout = 60 * time.Second // pkg/web's server
	f, store := ff.instances, ff.store
	prober := newClient(t, nil).as(s.shoppers[0].c.token)
	prober.http = &http.Client{Timeout: 2 * serverWriteTimeout}
	var mu sync.Mutex
	statuses := map[string]map[int]int{} // service → status → count, during the outage
	notReady := map[string]bool{}        // instance → its /readyz said 503 during the outage
	var slowest time.Duration
	probe := func(inst *proc, method, path string) {
		start := time.Now()
		status, err := prober.withURLs(map[string]string{inst.service: inst.url}).tryCall(method, inst.service, path, nil, nil)
		took := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		slowest = max(slowest, took)
		assert.NoError(t, err, "%s %s during the outage", method, inst)
		if path == "/readyz" {
			notReady[inst.String()] = notReady[inst.String()] || status == http.StatusServiceUnavailable
			return
		}
		if statuses[inst.service] == nil {
			statuses[inst.service] = map[int]int{}
		}
		statuses[inst.service][status]++
	}
	func() {
		s.waitProgress(t, from)
		store.kill()
		t.Logf("store SIGKILLed after %d checkouts", s.checkoutsDone())
		stopped := time.Now()
		var probing sync.WaitGroup
		for _, p := range outageProbes {
			for _, inst := range f.procs[p.service] {
				probing.Go(func() {
					for time.Since(stopped) < 10*time.Second {
						probe(inst, p.method, p.path)
						probe(inst, http.MethodGet, "/readyz")
					}
				})
			}
		}
		time.Sleep(10 * time.Second)
		store.start()
		t.Logf("store started again after %s and %d checkouts", time.Since(stopped).Round(time.Millisecond), s.checkoutsDone())
		probing.Wait()
		for _, ps := range f.procs {
			for _, p := range ps {
				waitURLReady(t, p.url, nil, 90*time.Second)
			}
		}
		t.Logf("every instance ready again %s after the store was stopped, none restarted", time.Since(stopped).Round(time.Millisecond))
	}()
	for _, p := range outageProbes {
		if p.readModel {
			for status := range statuses[p.service] {
				assert.Contains(t, []int{http.StatusOK, http.StatusServiceUnavailable}, status,
					"%s answered from its read model or 503 while the store was down: %v", p.service, statuses[p.service])
			}
		} else {
			assert.Positive(t, statuses[p.service][http.StatusServiceUnavailable], "%s answered 503 while the store was down: %v", p.service, statuses[p.service])
		}
		assert.Zero(t, statuses[p.service][http.StatusInternalServerError], "%s answered 500: %v", p.service, statuses[p.service])
		for _, inst := range f.procs[p.service] {
			assert.True(t, notReady[inst.String()], "%s /readyz said 503 while the store was down", inst)
		}
	}
	assert.Less(t, slowest, serverWriteTimeout, "no request hangs past the server's write timeout")
	t.Logf("during the 10 s outage: answers by service %v; slowest answer %s; /readyz 503 on %d instances",
		statuses, slowest.Round(time.Millisecond), len(notReady))
}

// faultProxy is a TCP proxy (toxiproxy, in process) in front of a server, on a loopback port.
type faultProxy struct {
	*toxiproxy.Proxy
}

func startFaultProxy(t *testing.T, name, upstream string) *faultProxy {
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:"+freePort(t), upstream)
	require.NoError(t, p.Start())
	t.Cleanup(p.Stop)
	return &faultProxy{p}
}

// add adds a toxic to both directions of the proxy.
func (p *faultProxy) add(t *testing.T, kind, attributes string) {
	for _, stream := range []string{"upstream", "downstream"} {
		_, err := p.Toxics.AddToxicJson(strings.NewReader(fmt.Sprintf(
			`{"name":%q,"type":%q,"stream":%q,"toxicity":1,"attributes":%s}`, kind+"_"+stream, kind, stream, attributes)))
		require.NoError(t, err)
	}
}

func (p *faultProxy) remove(t *testing.T, kind string) {
	for _, stream := range []string{"upstream", "downstream"} {
		require.NoError(t, p.Toxics.RemoveToxic(context.Background(), kind+"_"+stream))
	}
}

// cut closes every connection through the proxy and refuses new ones for a moment.
func (p *faultProxy) cut(t *testing.T, pause time.Duration) {
	p.Stop()
	time.Sleep(pause)
	require.NoError(t, p.Start())
}

// proxied returns raw (a server URL) with its host replaced by the proxy's address.
func proxied(t *testing.T, raw string, p *faultProxy) string {
	u, err := url.Parse(raw)
	require.NoError(t, err)
	u.Host = p.Listen
	return u.String()
}

// networkFaults disturbs the links between the services and both RabbitMQ and the store, in
// turn: latency, every connection cut, then half-open links (open, but every byte dropped).
func networkFaults(t *testing.T, ff *faultFleet, s *stream, from float64) {
	proxies := []*faultProxy{ff.amqpProxy, ff.storeProxy}
	s.waitProgress(t, from)
	for _, p := range proxies {
		p.add(t, "latency", `{"latency":100,"jitter":50}`)
	}
	t.Logf("latency 100±50 ms each way on AMQP and store links after %d checkouts", s.checkoutsDone())
	time.Sleep(pick(4*time.Second, 15*time.Second))
	for _, p := range proxies {
		p.remove(t, "latency")
	}

	for _, p := range proxies {
		p.cut(t, 500*time.Millisecond)
	}
	t.Logf("every AMQP and store connection cut after %d checkouts", s.checkoutsDone())
	time.Sleep(2 * time.Second) // reconnected, so the half-open links below hold live connections

	for _, p := range proxies {
		p.add(t, "timeout", `{"timeout":0}`)
	}
	t.Logf("AMQP and store links half-open (bytes dropped, connections kept) after %d checkouts", s.checkoutsDone())
	time.Sleep(pick(6*time.Second, 20*time.Second))
	for _, p := range proxies {
		p.remove(t, "timeout")
	}
	t.Logf("links healed after %d checkouts", s.checkoutsDone())
}
