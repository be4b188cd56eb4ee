// Command bench measures the shop and prints one report (make bench):
//
//   - the ceiling: a bare net/http JSON handler, loaded by wrk in the same run;
//   - each read endpoint's requests per second under wrk, and its share of the ceiling;
//   - the store round trips of one checkout (3 lines, POST /cart/checkout to order validated);
//   - the history table: each read's median latency on a fresh shop and after bulk-seeding
//     100,000 stock moves and 10,000 orders (with their carts and events);
//   - the load table of cmd/load (concurrent shoppers), run after the rest on a fleet of its own.
//
// It writes the report as JSON and Markdown too (-out). Everything runs on loopback: the fleet is
// the all-in-one process with its embedded stores, started here on free ports.
//
//	go run ./cmd/bench -duration 5s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	_ "net/http/pprof" // served only with -pprof
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ecommerce-go/ecommerce/internal/benchkit"
)

type settings struct {
	duration     time.Duration
	conns        int
	threads      int
	moves        int
	orders       int
	samples      int
	loadUsers    int
	loadDuration time.Duration
	out          string
	pprof        string
	backend      string
}

func main() {
	var s settings
	flag.DurationVar(&s.duration, "duration", 5*time.Second, "length of each wrk run")
	flag.IntVar(&s.conns, "conns", 32, "wrk connections")
	flag.IntVar(&s.threads, "threads", 2, "wrk threads")
	flag.IntVar(&s.moves, "moves", 100_000, "stock moves to seed for the history table (with -orders 0 as well: no history table)")
	flag.IntVar(&s.orders, "orders", 10_000, "orders (with carts and events) to seed for the history table")
	flag.IntVar(&s.samples, "samples", 200, "requests per endpoint for each median of the history table")
	flag.IntVar(&s.loadUsers, "load-users", 16, "shoppers of the load run (0 skips it)")
	flag.DurationVar(&s.loadDuration, "load-duration", 30*time.Second, "length of the load run")
	flag.StringVar(&s.out, "out", "bench", "folder for report.json and report.md (report-servers.* with -backend servers)")
	flag.StringVar(&s.backend, "backend", benchkit.Embedded, "embedded (the all-in-one fleet's stand-ins) or servers (FerretDB on this machine's PostgreSQL, its RabbitMQ and Redis)")
	flag.StringVar(&s.pprof, "pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060) to profile the in-process fleet")
	flag.Parse()
	if s.pprof != "" {
		go func() { fmt.Fprintln(os.Stderr, "pprof:", http.ListenAndServe(s.pprof, nil)) }()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, s); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// Report is everything one run measured.
type Report struct {
	Machine    Machine          `json:"machine"`
	Backend    string           `json:"backend"`
	Throughput []Throughput     `json:"throughput"`
	Checkout   map[string]int64 `json:"checkoutRoundTrips"`
	History    []HistoryRow     `json:"history"`
	Seeded     map[string]int   `json:"seeded"`
	Load       json.RawMessage  `json:"load,omitempty"`
	Notes      []string         `json:"notes"`
}

// Machine says where the figures were taken.
type Machine struct {
	CPU   string `json:"cpu"`
	Cores int    `json:"cores"`
	OS    string `json:"os"`
	Go    string `json:"go"`
	Date  string `json:"date"`
}

// Throughput is one endpoint under wrk.
//
// CPUus is the CPU time this process (the ceiling's server and the fleet, not wrk) spent per
// request answered, in microseconds, and CPUCeiling the ceiling's CPU per request as a share of
// it: unlike requests per second, that share hardly changes when other programs take the CPU
// meanwhile. (With -backend servers, the servers' own CPU is not counted.)
type Throughput struct {
	Endpoint   string  `json:"endpoint"`
	PerSecond  float64 `json:"perSecond"`
	Ceiling    float64 `json:"percentOfCeiling"`
	CPUus      float64 `json:"cpuMicrosPerRequest"`
	CPUCeiling float64 `json:"percentOfCeilingByCPU"`
}

// HistoryRow is one read's median on a fresh shop and after the seeding.
type HistoryRow struct {
	Endpoint  string  `json:"endpoint"`
	FreshMs   float64 `json:"freshP50ms"`
	HistoryMs float64 `json:"historyP50ms"`
	Ratio     float64 `json:"ratio"`
}

func run(ctx context.Context, s settings) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk is needed (apt-get install wrk): %w", err)
	}
	rep := &Report{Machine: machine(), Backend: s.backend, Checkout: map[string]int64{}, Seeded: map[string]int{}}

	ceilingURL, stopCeiling := startCeiling()
	defer stopCeiling()

	fmt.Printf("bench: starting the all-in-one fleet on the %s backends\n", s.backend)
	f, err := benchkit.StartFleetOn(ctx, s.backend)
	if err != nil {
		return err
	}
	shop, err := stockShop(ctx, f)
	if err != nil {
		f.Stop()
		return err
	}

	// Throughput, ceiling first and last (its mean is the reference).
	targets := []struct{ name, url, token string }{
		{"ceiling: bare net/http JSON", ceilingURL, ""},
		{"GET /articles/{id}", f.URLs["catalog"] + "/articles/" + shop.articles[0], ""},
		{"GET /articles/search/{words}", f.URLs["catalog"] + "/articles/search/bench%20lamp", ""},
		{"GET /articles?page=1&size=20", f.URLs["catalog"] + "/articles?page=1&size=20", ""},
		{"GET /cart (signed in)", f.URLs["cart"] + "/cart", shop.token},
		{"GET /users/current (signed in)", f.URLs["auth"] + "/users/current", shop.token},
		{"GET /images/{id}/jpeg?Size=160 (cached)", f.URLs["image"] + "/images/" + shop.image + "/jpeg?Size=160", ""},
		{"ceiling: bare net/http JSON", ceilingURL, ""},
	}
	var ceiling []Throughput
	for _, t := range targets {
		cpuBefore := processCPU()
		rps, n, err := wrk(ctx, s, t.url, t.token)
		if err != nil {
			f.Stop()
			return fmt.Errorf("%s: %w", t.name, err)
		}
		run := Throughput{Endpoint: t.name, PerSecond: rps, CPUus: float64((processCPU() - cpuBefore).Microseconds()) / float64(max(n, 1))}
		fmt.Printf("  %-45s %9.0f req/s %7.1f µs CPU/req\n", t.name, rps, run.CPUus)
		if strings.HasPrefix(t.name, "ceiling") {
			ceiling = append(ceiling, run)
			continue
		}
		rep.Throughput = append(rep.Throughput, run)
	}
	ceil := Throughput{Endpoint: "ceiling: bare net/http JSON (mean of first and last)",
		PerSecond: (ceiling[0].PerSecond + ceiling[1].PerSecond) / 2, CPUus: (ceiling[0].CPUus + ceiling[1].CPUus) / 2}
	rep.Throughput = append([]Throughput{ceil}, rep.Throughput...)
	for i := range rep.Throughput {
		rep.Throughput[i].Ceiling = 100 * rep.Throughput[i].PerSecond / ceil.PerSecond
		rep.Throughput[i].CPUCeiling = 100 * ceil.CPUus / rep.Throughput[i].CPUus
	}

	if err := checkoutRoundTrips(ctx, f, shop, rep); err != nil {
		f.Stop()
		return fmt.Errorf("checkout round trips: %w", err)
	}

	if s.moves > 0 || s.orders > 0 {
		if err := history(ctx, s, f, shop, rep); err != nil {
			f.Stop()
			return fmt.Errorf("history: %w", err)
		}
	}
	f.Stop()

	if s.loadUsers > 0 {
		fmt.Printf("bench: load run, %d shoppers for %s (cmd/load, a fleet of its own)\n", s.loadUsers, s.loadDuration)
		tmp, err := os.CreateTemp("", "ecommerce-load-*.json")
		if err != nil {
			return err
		}
		tmp.Close()
		defer os.Remove(tmp.Name())
		cmd := exec.CommandContext(ctx, "go", "run", "./cmd/load", "-users", strconv.Itoa(s.loadUsers),
			"-duration", s.loadDuration.String(), "-backend", s.backend, "-json", tmp.Name())
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("load run: %w", err)
		}
		if rep.Load, err = os.ReadFile(tmp.Name()); err != nil {
			return err
		}
	}
	return writeReport(s, rep)
}

// startCeiling serves a bare JSON answer the size of an article: the most a Go HTTP server on
// this machine can do, for comparison.
func startCeiling() (string, func()) {
	body := []byte(`{"_id":"6b098daaca706b58f2883d19","name":"Bench lamp 1","description":"a lamp for the benchmark","image":"","price":9.99,"stock":5,"enabled":true}` + "\n")
	addr := benchkit.FreeAddr()
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.ListenAndServe() }()
	return "http://" + addr + "/", func() { _ = srv.Close() }
}

var requestsPerSec = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// processCPU returns the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

var requestsDone = regexp.MustCompile(`([0-9]+) requests in`)

// wrk loads url for the run's duration and returns the requests per second it got answered, and
// how many.
func wrk(ctx context.Context, s settings, url, token string) (float64, int, error) {
	args := []string{"-t", strconv.Itoa(s.threads), "-c", strconv.Itoa(s.conns), "-d", s.duration.String()}
	if token != "" {
		args = append(args, "-H", "Authorization: Bearer "+token)
	}
	out, err := exec.CommandContext(ctx, "wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("wrk: %w: %s", err, out)
	}
	if bytes.Contains(out, []byte("Non-2xx or 3xx responses")) {
		return 0, 0, fmt.Errorf("wrk got errors: %s", out)
	}
	m, done := requestsPerSec.FindSubmatch(out), requestsDone.FindSubmatch(out)
	if m == nil || done == nil {
		return 0, 0, fmt.Errorf("no Requests/sec in wrk output: %s", out)
	}
	rps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, 0, err
	}
	n, err := strconv.Atoi(string(done[1]))
	return rps, n, err
}

// shop is what the bench stocks before measuring.
type shop struct {
	adminToken string
	token      string // a shopper's
	articles   []string
	image      string
	orderID    string
}

// stockShop makes an image, 50 articles (every tenth a "bench lamp"), a shopper with one
// validated order and an open cart.
func stockShop(ctx context.Context, f *benchkit.Fleet) (*shop, error) {
	c := &client{urls: f.URLs}
	sh := &shop{}
	login, password, _ := strings.Cut(f.Admin, ":")
	var tok struct{ Token string }
	if err := c.do(ctx, "", "POST", "auth", "/users/signin", map[string]string{"login": login, "password": password}, &tok); err != nil {
		return nil, err
	}
	sh.adminToken = tok.Token
	var img struct{ ID string }
	if err := c.do(ctx, sh.adminToken, "POST", "image", "/images/create", map[string]string{"image": pngDataURL()}, &img); err != nil {
		return nil, err
	}
	sh.image = img.ID
	for i := range 50 {
		kind := "chair"
		if i%10 == 0 {
			kind = "lamp"
		}
		var a struct {
			ID string `json:"_id"`
		}
		body := map[string]any{"name": fmt.Sprintf("Bench %s %d", kind, i), "description": "stocked for the benchmark",
			"image": sh.image, "price": 9.99, "stock": 1_000_000}
		if err := c.do(ctx, sh.adminToken, "POST", "catalog", "/articles", body, &a); err != nil {
			return nil, err
		}
		sh.articles = append(sh.articles, a.ID)
	}
	if err := c.do(ctx, "", "POST", "auth", "/users/signup",
		map[string]string{"name": "Bench shopper", "login": "bench-shopper", "password": "bench password"}, &tok); err != nil {
		return nil, err
	}
	sh.token = tok.Token
	// One order, validated, for GET /orders and GET /orders/{id}; then an open cart with a line.
	id, err := checkout(ctx, c, sh, sh.articles[:1])
	if err != nil {
		return nil, err
	}
	sh.orderID = id
	return sh, c.do(ctx, sh.token, "POST", "cart", "/cart/article", map[string]any{"articleId": sh.articles[1], "quantity": 1}, nil)
}

// checkout fills the shopper's cart with one of each article, checks out and waits until the
// order is validated; it returns the order id.
func checkout(ctx context.Context, c *client, sh *shop, articles []string) (string, error) {
	for _, a := range articles {
		if err := c.do(ctx, sh.token, "POST", "cart", "/cart/article", map[string]any{"articleId": a, "quantity": 1}, nil); err != nil {
			return "", err
		}
	}
	var closed struct {
		ID string `json:"_id"`
	}
	if err := c.do(ctx, sh.token, "POST", "cart", "/cart/checkout", nil, &closed); err != nil {
		return "", err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var orders []struct{ ID, Status, CartID string }
		if err := c.do(ctx, sh.token, "GET", "orders", "/orders?size=100", nil, &orders); err != nil {
			return "", err
		}
		for _, o := range orders {
			if o.CartID == closed.ID && o.Status == "validated" {
				return o.ID, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", fmt.Errorf("order of cart %s not validated within 30 s", closed.ID)
}

// pngDataURL is a small picture to upload.
func pngDataURL() string {
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := range 480 {
		for x := range 640 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return "data:image/png;base64," + base64Std(buf.Bytes())
}

// machine describes this machine.
func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(),
		Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), CPU: "unknown"}
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(info), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	return m
}

// client calls the fleet's APIs with JSON.
type client struct{ urls map[string]string }

func (c *client) do(ctx context.Context, token, method, service, path string, body, out any) error {
	return benchkit.Call(ctx, http.DefaultClient, method, c.urls[service]+path, token, body, out)
}

// median times n sequential calls of get and returns the median, in milliseconds.
func median(ctx context.Context, n int, get func() error) (float64, error) {
	took := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := get(); err != nil {
			return 0, err
		}
		took = append(took, time.Since(start))
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
	slices.Sort(took)
	return float64(took[len(took)/2].Microseconds()) / 1000, nil
}

func writeReport(s settings, rep *Report) error {
	md := markdown(rep)
	fmt.Println()
	fmt.Print(md)
	if err := os.MkdirAll(s.out, 0o755); err != nil {
		return err
	}
	body, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	name := "report"
	if s.backend != benchkit.Embedded {
		name += "-" + s.backend
	}
	if err := os.WriteFile(filepath.Join(s.out, name+".json"), body, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.out, name+".md"), []byte(md), 0o644)
}
