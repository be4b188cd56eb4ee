// Command load drives the shop with concurrent shoppers for a bounded time and reports, per
// operation, throughput and latency percentiles. By default it starts the all-in-one fleet in
// its own process on free loopback ports and a temporary data folder; with -external it uses the
// services at the *_SERVICE_URL addresses (for example a `make run` fleet) instead. It only ever
// talks to loopback or the URLs it is given.
//
//	go run ./cmd/load -users 8 -duration 20s
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	_ "net/http/pprof" // served only with -pprof
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ecommerce-go/ecommerce/internal/benchkit"
	"github.com/ecommerce-go/ecommerce/pkg/config"
)

func main() {
	users := flag.Int("users", 8, "concurrent shoppers")
	duration := flag.Duration("duration", 20*time.Second, "how long the shoppers shop")
	articles := flag.Int("articles", 20, "articles to stock before the run")
	external := flag.Bool("external", false, "use the running services at *_SERVICE_URL instead of starting a fleet (run them with CART_CHECKOUTS_PER_MINUTE=0 and ORDERS_MAX_UNPAID=0, or the checkout quota refuses the shoppers with 429 and the unpaid-order limit makes their orders invalid)")
	backend := flag.String("backend", benchkit.Embedded, "the started fleet's backends: embedded (FerretDB/SQLite, Redis stand-in, in-process broker) or servers (FerretDB/PostgreSQL, RabbitMQ, Redis of this machine)")
	admin := flag.String("admin", "", "login:password of an admin (with -external)")
	jsonOut := flag.String("json", "", "also write the results to this file as JSON")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060) to profile the in-process fleet")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { fmt.Fprintln(os.Stderr, "pprof:", http.ListenAndServe(*pprofAddr, nil)) }()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *users, *duration, *articles, *external, *backend, *admin, *jsonOut); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, users int, duration time.Duration, articles int, external bool, backend, admin, jsonOut string) error {
	urls := map[string]string{}
	if external {
		for _, s := range benchkit.Services {
			urls[s] = envOr(strings.ToUpper(s)+"_SERVICE_URL", config.DefaultURL(s))
		}
	} else {
		f, err := benchkit.StartFleetOn(ctx, backend)
		if err != nil {
			return err
		}
		defer f.Stop()
		urls, admin = f.URLs, f.Admin
	}
	login, password, ok := strings.Cut(admin, ":")
	if !ok {
		return errors.New("-admin login:password is required with -external")
	}

	c := &client{http: &http.Client{Timeout: 30 * time.Second}, urls: urls}
	var signIn struct{ Token string }
	if err := c.do(ctx, "", http.MethodPost, "auth", "/users/signin", map[string]string{"login": login, "password": password}, &signIn); err != nil {
		return fmt.Errorf("admin sign-in: %w", err)
	}
	ids := make([]string, articles)
	for i := range ids {
		var a struct {
			ID string `json:"_id"`
		}
		body := map[string]any{"name": fmt.Sprintf("Load article %d", i), "description": "stocked for the load run", "price": 1.5 + float64(i), "stock": 1_000_000}
		if err := c.do(ctx, signIn.Token, http.MethodPost, "catalog", "/articles", body, &a); err != nil {
			return fmt.Errorf("stock article: %w", err)
		}
		ids[i] = a.ID
	}

	fmt.Printf("load: %d shoppers for %s against %d articles\n", users, duration, articles)
	rec := newRecorder()
	runCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	shoppers := make([]*shopper, users)
	for u := range users {
		shoppers[u] = &shopper{n: u}
		wg.Go(func() { shoppers[u].shop(runCtx, c, rec, ids) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, s := range shoppers {
		wg.Go(func() { s.awaitOrders(ctx, c, rec, 15*time.Second) })
	}
	wg.Wait()
	rec.report(os.Stdout, elapsed)
	if jsonOut != "" {
		body, err := json.MarshalIndent(rec.results(elapsed), "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(jsonOut, body, 0o644)
	}
	return nil
}

// shopper is one concurrent shopper, with the checkouts it made.
type shopper struct {
	n         int
	token     string
	checkouts map[string]time.Time // closed cart id → when its checkout was sent
}

// shop is one shopper's loop: sign up, then browse, search, fill the cart and check out, over
// and over until ctx is done.
func (s *shopper) shop(ctx context.Context, c *client, rec *recorder, ids []string) {
	n := s.n
	s.checkouts = map[string]time.Time{}
	var out struct{ Token string }
	login := fmt.Sprintf("load-%d-%d", n, time.Now().UnixNano())
	if !rec.time("signup", func() error {
		return c.do(ctx, "", http.MethodPost, "auth", "/users/signup", map[string]string{"name": "Shopper", "login": login, "password": "load password"}, &out)
	}) {
		return
	}
	token := out.Token
	s.token = token
	for i := 0; ctx.Err() == nil; i++ {
		id := ids[(n+i)%len(ids)]
		rec.time("list articles", func() error { return c.do(ctx, "", http.MethodGet, "catalog", "/articles?page=1&size=10", nil, nil) })
		rec.time("search", func() error { return c.do(ctx, "", http.MethodGet, "catalog", "/articles/search/load", nil, nil) })
		rec.time("get article", func() error { return c.do(ctx, "", http.MethodGet, "catalog", "/articles/"+id, nil, nil) })
		rec.time("add to cart", func() error {
			return c.do(ctx, token, http.MethodPost, "cart", "/cart/article", map[string]any{"articleId": id, "quantity": 1}, nil)
		})
		rec.time("get cart", func() error { return c.do(ctx, token, http.MethodGet, "cart", "/cart", nil, nil) })
		if i%3 == 2 {
			var closed struct {
				ID string `json:"_id"`
			}
			sent := time.Now()
			if rec.time("checkout", func() error { return c.do(ctx, token, http.MethodPost, "cart", "/cart/checkout", nil, &closed) }) {
				s.checkouts[closed.ID] = sent
			}
			rec.time("list orders", func() error { return c.do(ctx, token, http.MethodGet, "orders", "/orders", nil, nil) })
		}
	}
}

// awaitOrders waits, at most wait, until the order of every checkout of the shopper is final,
// and records each as "checkout → validated": its latency from the checkout sent to the order's
// last update (the validation, as nobody pays), or an error when it ended otherwise or not in time.
func (s *shopper) awaitOrders(ctx context.Context, c *client, rec *recorder, wait time.Duration) {
	const op = "checkout → validated"
	if len(s.checkouts) == 0 {
		return
	}
	pending := maps.Clone(s.checkouts)
	for deadline := time.Now().Add(wait); len(pending) > 0 && ctx.Err() == nil; time.Sleep(200 * time.Millisecond) {
		var orders []struct {
			CartID  string    `json:"cartId"`
			Status  string    `json:"status"`
			Updated time.Time `json:"updated"`
		}
		if err := c.do(ctx, s.token, http.MethodGet, "orders", "/orders?size=100", nil, &orders); err != nil {
			rec.fail(op, err.Error())
			return
		}
		for _, o := range orders {
			sent, ok := pending[o.CartID]
			switch {
			case !ok || o.Status == "placed":
				continue
			case o.Status == "validated":
				rec.add(op, o.Updated.Sub(sent))
			default:
				rec.fail(op, "order of cart "+o.CartID+" is "+o.Status)
			}
			delete(pending, o.CartID)
		}
		if time.Now().After(deadline) {
			for id := range pending {
				rec.fail(op, "order of cart "+id+" not final in time")
			}
			return
		}
	}
}

type client struct {
	http *http.Client
	urls map[string]string
}

func (c *client) do(ctx context.Context, token, method, service, path string, body, out any) error {
	return benchkit.Call(ctx, c.http, method, c.urls[service]+path, token, body, out)
}

// recorder keeps every latency per operation.
type recorder struct {
	mu     sync.Mutex
	took   map[string][]time.Duration
	errors map[string]int
	sample map[string]string
}

func newRecorder() *recorder {
	return &recorder{took: map[string][]time.Duration{}, errors: map[string]int{}, sample: map[string]string{}}
}

// time runs op and records its latency, or its error; it reports whether op succeeded. An
// operation cut short by the end of the run is not counted.
func (r *recorder) time(name string, op func() error) bool {
	start := time.Now()
	err := op()
	took := time.Since(start)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errors[name]++
		r.sample[name] = err.Error()
		return false
	}
	r.took[name] = append(r.took[name], took)
	return true
}

// add records a success of op that took took.
func (r *recorder) add(op string, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.took[op] = append(r.took[op], took)
}

// fail records a failure of op.
func (r *recorder) fail(op, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors[op]++
	r.sample[op] = msg
}

func (r *recorder) report(w io.Writer, elapsed time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tok\terrors\treq/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\t")
	total := 0
	for _, name := range r.names() {
		d := r.took[name]
		slices.Sort(d)
		if !derived[name] {
			total += len(d)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", name, len(d), r.errors[name],
			float64(len(d))/elapsed.Seconds(), ms(pct(d, 50)), ms(pct(d, 95)), ms(pct(d, 99)), ms(pct(d, 100)))
	}
	tw.Flush()
	fmt.Fprintf(w, "total: %d requests in %s (%.1f req/s; %q is not a request and not counted)\n",
		total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), "checkout → validated")
	for name, msg := range r.sample {
		fmt.Fprintf(w, "sample error of %s: %s\n", name, msg)
	}
}

// Result is the outcome of one operation in a load run.
type Result struct {
	Operation string  `json:"operation"`
	OK        int     `json:"ok"`
	Errors    int     `json:"errors"`
	PerSecond float64 `json:"perSecond"`
	P50ms     float64 `json:"p50ms"`
	P95ms     float64 `json:"p95ms"`
	P99ms     float64 `json:"p99ms"`
}

// Results is the outcome of a load run.
type Results struct {
	Seconds    float64  `json:"seconds"`
	Total      int      `json:"total"`
	PerSecond  float64  `json:"perSecond"`
	Operations []Result `json:"operations"`
}

func (r *recorder) results(elapsed time.Duration) Results {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Results{Seconds: elapsed.Seconds()}
	for _, name := range r.names() {
		d := r.took[name]
		slices.Sort(d)
		if !derived[name] {
			out.Total += len(d)
		}
		out.Operations = append(out.Operations, Result{Operation: name, OK: len(d), Errors: r.errors[name],
			PerSecond: float64(len(d)) / elapsed.Seconds(), P50ms: ms(pct(d, 50)), P95ms: ms(pct(d, 95)), P99ms: ms(pct(d, 99))})
	}
	slices.SortFunc(out.Operations, func(a, b Result) int { return strings.Compare(a.Operation, b.Operation) })
	out.PerSecond = float64(out.Total) / elapsed.Seconds()
	return out
}

// derived names the operations that are not requests: they are left out of the totals.
var derived = map[string]bool{"checkout → validated": true}

// names returns the operations recorded, sorted. Callers hold r.mu.
func (r *recorder) names() []string {
	names := slices.Collect(maps.Keys(r.took))
	for name := range r.errors {
		if _, ok := r.took[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
