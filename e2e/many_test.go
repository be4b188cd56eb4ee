package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// longRuns tells whether the full-size runs were asked for (E2E_LONG=1, `make faults`);
// otherwise each multi-instance and fault test runs a short version that fits `make test`.
func longRuns() bool { return os.Getenv("E2E_LONG") == "1" }

// parallel runs the test beside the other end-to-end tests in make test's short runs, where
// most of them wait (on jobs, deadlines, restarts); the full-size runs (E2E_LONG, HOSTILE_LONG)
// run one test at a time, so the figures they print are their own.
func parallel(t *testing.T) {
	if !longRuns() && os.Getenv("HOSTILE_LONG") == "" {
		t.Parallel()
	}
}

// pick returns long when E2E_LONG=1, short otherwise.
func pick[T any](short, long T) T {
	if longRuns() {
		return long
	}
	return short
}

// TestManyInstances runs two processes of every service side by side on one RabbitMQ virtual
// host and one store, with requests spread over both, and checks the promises of SPEC §5 that
// only show with several instances.
func TestManyInstances(t *testing.T) {
	parallel(t)
	f := startInstances(t, fleetConfig{instances: 2})
	t.Run("sign-in limits are counted once for every auth instance", func(t *testing.T) {
		signInLimitsShared(t, f)
	})
	t.Run("sign-out fails the token on every instance", func(t *testing.T) {
		signOutEverywhere(t, f, pick(20, 200))
	})
	t.Run("checkout stream across instances", func(t *testing.T) {
		s := startStream(t, f.balanced(), streamConfig{shoppers: pick(12, 25), ordersEach: pick(3, 8), seed: 13})
		s.run(t)
		statuses := s.verify(t, f, "checkout stream over 2 instances", pick(4*time.Minute, 10*time.Minute))
		assert.Positive(t, statuses["invalid"], "the scarce articles ran out (otherwise nothing was scarce)")
	})
	t.Run("status jobs run once per schedule", func(t *testing.T) {
		statusJobsOnce(t, f, pick(10*time.Second, 30*time.Second))
	})
	t.Run("article change visible on the other catalog instance", func(t *testing.T) {
		articleChangesVisible(t, f, pick(6, 20))
	})
	t.Run("poison messages dead-lettered, the queue keeps flowing", func(t *testing.T) {
		poisonMessages(t, f)
	})
}

// revocationProbes are requests that every service answers without touching its store when
// the token is bad: 401 once the token is revoked, something else while it is valid (a
// shopper may not create articles or read the status list; an empty body is a 400).
var revocationProbes = []struct {
	service, method, path string
	body                  any
}{
	{"auth", http.MethodGet, "/users/current", nil},
	{"image", http.MethodPost, "/images/create", map[string]any{}},
	{"catalog", http.MethodPost, "/articles", map[string]any{}},
	{"cart", http.MethodPost, "/cart/article", map[string]any{}},
	{"orders", http.MethodGet, "/orders/status", nil},
}

// signOutEverywhere signs n tokens out, each through one of the auth instances in turn, and
// measures how long after the sign-out's 200 the token fails on every instance of every
// service (each of which had the token in its cache). The figures are printed, not asserted;
// that the token fails everywhere is.
func signOutEverywhere(t *testing.T, f *instances, n int) {
	const tokensPerUser = 8 // sign-ins per login stay under auth's per-login limit
	anon := newClient(t, f.balanced())
	tokens := make([]string, 0, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for u := range (n + tokensPerUser - 1) / tokensPerUser {
		wg.Go(func() {
			login := testkit.Name("leaver")
			anon.signUp("Leaver", login, "leaving password 1")
			for k := range tokensPerUser {
				var out struct{ Token string }
				from := fmt.Sprintf("10.13.%d.%d", u, k)
				status, err := anon.withURLs(f.instance(k%2)).tryCallFrom(from, http.MethodPost, "auth", "/users/signin",
					map[string]string{"login": login, "password": "leaving password 1"}, &out)
				if assert.NoError(t, err) && assert.Equal(t, http.StatusOK, status, "sign-in") {
					mu.Lock()
					tokens = append(tokens, out.Token)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	require.GreaterOrEqual(t, len(tokens), n)
	tokens = tokens[:n]

	type target struct {
		probe int
		urls  map[string]string
	}
	var targets []target
	for i, p := range revocationProbes {
		for k := range f.procs[p.service] {
			targets = append(targets, target{i, f.instance(k)})
		}
	}
	var everywhere []time.Duration
	slowest := map[string]time.Duration{}
	for i, token := range tokens {
		user := anon.as(token)
		for _, tg := range targets {
			p := revocationProbes[tg.probe]
			status, err := user.withURLs(tg.urls).tryCall(p.method, p.service, p.path, p.body, nil)
			require.NoError(t, err)
			require.NotContains(t, []int{401, 500, 502, 503}, status, "%s %s before sign-out", p.service, tg.urls[p.service])
		}
		user.withURLs(f.instance(i%2)).must(http.MethodGet, "auth", "/users/signout", nil, nil)
		signedOut := time.Now()
		took := make([]time.Duration, len(targets))
		var polling sync.WaitGroup
		for j, tg := range targets {
			polling.Go(func() {
				p := revocationProbes[tg.probe]
				c := user.withURLs(tg.urls)
				for time.Since(signedOut) < 10*time.Second {
					if status, _ := c.tryCall(p.method, p.service, p.path, p.body, nil); status == http.StatusUnauthorized {
						took[j] = time.Since(signedOut)
						return
					}
					time.Sleep(time.Millisecond)
				}
				took[j] = -1
			})
		}
		polling.Wait()
		last := time.Duration(0)
		for j, d := range took {
			tg := targets[j]
			where := revocationProbes[tg.probe].service + "@" + tg.urls[revocationProbes[tg.probe].service]
			require.GreaterOrEqual(t, d, time.Duration(0), "sign-out %d: the token still works on %s after 10s", i, where)
			last = max(last, d)
			slowest[revocationProbes[tg.probe].service] = max(slowest[revocationProbes[tg.probe].service], d)
		}
		everywhere = append(everywhere, last)
	}
	p := percentiles(everywhere, 50, 95, 99, 100)
	t.Logf("sign-out → token refused on all %d instances of %d services, over %d sign-outs (alternating auth instances): "+
		"p50 %s, p95 %s, p99 %s, max %s; slowest per service %v",
		len(targets), len(revocationProbes), len(everywhere), ms(p[0]), ms(p[1]), ms(p[2]), ms(p[3]), slowest)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

// jobCounts reads the status jobs published and consumed by one orders instance.
func jobCounts(t *testing.T, base string) (published, consumed float64) {
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `type="order_status_job"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		require.NoError(t, err, line)
		switch {
		case strings.HasPrefix(line, "messages_published_total{") && strings.Contains(line, `exchange="order_status_jobs"`):
			published += v
		case strings.HasPrefix(line, "messages_consumed_total{") && strings.Contains(line, `queue="order_status_jobs"`):
			consumed += v
		}
	}
	require.NoError(t, sc.Err())
	return published, consumed
}

// statusJobsOnce watches the orders instances' metrics for window: together they enqueue one
// job per schedule and time slot (not one per instance), and each job runs once.
func statusJobsOnce(t *testing.T, f *instances, window time.Duration) {
	orders := f.procs["orders"]
	snapshot := func() (pub, con []float64, sumPub, sumCon float64) {
		for _, p := range orders {
			a, b := jobCounts(t, p.url)
			pub, con = append(pub, a), append(con, b)
			sumPub, sumCon = sumPub+a, sumCon+b
		}
		return
	}
	_, con0, pub0, _ := snapshot()
	start := time.Now()
	time.Sleep(window)
	_, _, pub1, _ := snapshot()
	elapsed := time.Since(start)

	// Slots of each schedule that began in the window: elapsed/every, give or take one.
	lo, hi := 0, 0
	for _, every := range []string{"ORDERS_JOB_PLACED_EVERY", "ORDERS_JOB_VALIDATED_EVERY", "ORDERS_JOB_INVALID_EVERY", "ORDERS_JOB_PAYMENT_DEFINED_EVERY",
		"ORDERS_JOB_SHIPPED_EVERY", "ORDERS_JOB_CANCELLED_EVERY", "ORDERS_JOB_DELIVERED_EVERY"} {
		d, err := time.ParseDuration(fleetTimers[every])
		require.NoError(t, err)
		slots := elapsed.Seconds() / d.Seconds()
		lo += max(0, int(math.Floor(slots))-1)
		hi += int(math.Ceil(slots)) + 1
	}
	enqueued := int(pub1 - pub0)
	assert.GreaterOrEqual(t, enqueued, lo, "jobs enqueued in %s", elapsed)
	assert.LessOrEqual(t, enqueued, hi, "jobs enqueued in %s: more than one per slot means each instance scheduled its own", elapsed)

	// Every job enqueued by now runs, once: later, the runs have caught up with the jobs
	// enqueued now and never outnumber the jobs enqueued at all.
	var con2 []float64
	var pub2, sumCon2 float64
	testkit.Eventually(t, time.Minute, func() bool {
		_, con2, pub2, sumCon2 = snapshot()
		return sumCon2 >= pub1
	}, "every status job enqueued ran")
	assert.LessOrEqual(t, sumCon2, pub2, "no job ran twice")
	var shares []int
	for i := range orders {
		shares = append(shares, int(con2[i]-con0[i]))
	}
	if enqueued >= 10 {
		for i, n := range shares {
			assert.Positive(t, n, "orders instance %d ran none of the jobs: the work is not shared", i)
		}
	}
	t.Logf("status jobs over %s: %d enqueued by %d schedulers (one per slot: expected %d–%d; one per instance would be about twice that); "+
		"runs per instance %v", elapsed.Round(time.Millisecond), enqueued, len(orders), lo, hi, shares)
}

// articleChangesVisible has the admin change articles through one catalog instance and reads
// them through the other: each change shows there, by id and in search, within a second.
func articleChangesVisible(t *testing.T, f *instances, n int) {
	anon := newClient(t, f.balanced())
	admin := anon.as(anon.signIn(adminLogin, adminPassword))
	var delays []time.Duration
	for i := range n {
		writer, reader := admin.withURLs(f.instance(i%2)), anon.withURLs(f.instance(1-i%2))
		var a article
		writer.must(http.MethodPost, "catalog", "/articles", map[string]any{
			"name": "Globe " + testkit.Name("v"), "description": "before", "price": 10, "stock": 3,
		}, &a)
		word := strings.ReplaceAll(testkit.Name("renamed"), "_", "")
		change := map[string]any{"name": "Globe " + word, "price": 12.5 + float64(i), "stock": 7 + i}
		if i%3 == 2 {
			writer.must(http.MethodDelete, "catalog", "/articles/"+a.ID, nil, nil)
		} else {
			writer.must(http.MethodPost, "catalog", "/articles/"+a.ID, change, nil)
		}
		changed := time.Now()
		shows := func() bool {
			var got article
			var found []article
			if reader.call(http.MethodGet, "catalog", "/articles/"+a.ID, nil, &got) != http.StatusOK ||
				reader.call(http.MethodGet, "catalog", "/articles/search/"+word, nil, &found) != http.StatusOK {
				return false
			}
			if i%3 == 2 {
				var stillListed []article
				reader.call(http.MethodGet, "catalog", "/articles/search/"+strings.TrimPrefix(a.Name, "Globe "), nil, &stillListed)
				return !got.Enabled && !containsArticle(stillListed, a.ID)
			}
			return got.Name == change["name"] && got.Price == change["price"] && got.Stock == change["stock"] &&
				containsArticle(found, a.ID)
		}
		// The delay is from the change's 200 to the start of the first read that saw it: a read
		// sent that long after the change was answered with it (the read itself may queue).
		for {
			asked := time.Since(changed)
			if shows() {
				delays = append(delays, asked)
				break
			}
			require.Less(t, time.Since(changed), time.Second, "change %d not seen on the other catalog instance within 1s", i)
			time.Sleep(10 * time.Millisecond)
		}
	}
	p := percentiles(delays, 50, 100)
	t.Logf("%d admin changes (edits and deletes) seen on the other catalog instance, by id and in search, by a read sent %s (p50), %s (max) after the change (polling every 10ms)",
		n, ms(p[0]), ms(p[1]))
}

// deadLettered sums, over the instances of service, the messages of queue dead-lettered.
func deadLettered(t *testing.T, f *instances, service, queue string) float64 {
	sum := 0.0
	for _, p := range f.procs[service] {
		resp, err := http.Get(p.url + "/metrics")
		require.NoError(t, err)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "messages_dead_lettered_total{") && strings.Contains(line, `queue="`+queue+`"`) {
				v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
				require.NoError(t, err)
				sum += v
			}
		}
		resp.Body.Close()
	}
	return sum
}

// poisonMessages sends two messages that can never be handled to the order queue — a body that
// is not an envelope, and a place_order without a cart — then a real checkout: the poison goes
// to order.dlq, is counted in the orders instances' /metrics, and the checkout's order is
// handled as usual.
func poisonMessages(t *testing.T, f *instances) {
	conn, err := amqp.Dial(f.rabbitURL)
	require.NoError(t, err)
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.Confirm(false))
	before := deadLettered(t, f, "orders", "order")
	dlqBefore, err := ch.QueueDeclarePassive("order.dlq", true, false, false, false, nil)
	require.NoError(t, err)
	for _, body := range []string{
		"not an envelope",
		`{"type":"place_order","version":1,"correlation_id":"poison","message":{"cartId":"","articles":[]}}`,
	} {
		confirm, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "order", "order", false, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent, ContentType: "application/json", Body: []byte(body)})
		require.NoError(t, err)
		require.True(t, confirm.Wait(), "broker confirmed the poison message")
	}

	anon := newClient(t, f.balanced())
	admin := anon.as(anon.signIn(adminLogin, adminPassword))
	var a article
	admin.must(http.MethodPost, "catalog", "/articles", map[string]any{"name": "Antidote", "description": "after the poison", "price": 5, "stock": 10}, &a)
	u := anon.as(anon.signUp("After poison", testkit.Name("antidote"), "antidote password"))
	u.must(http.MethodPost, "cart", "/cart/article", map[string]any{"articleId": a.ID, "quantity": 1}, nil)
	u.must(http.MethodPost, "cart", "/cart/checkout", nil, nil)
	eventually(t, time.Minute, "the order after the poison is validated", func() bool {
		var list []orderSummary
		u.must(http.MethodGet, "orders", "/orders", nil, &list)
		return len(list) == 1 && list[0].Status == "validated"
	})
	testkit.Eventually(t, 30*time.Second, func() bool { return deadLettered(t, f, "orders", "order")-before == 2 },
		"2 dead letters counted in the orders instances' /metrics")
	dlq, err := ch.QueueDeclarePassive("order.dlq", true, false, false, false, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, dlq.Messages-dlqBefore.Messages, "both poison messages wait in order.dlq")
	t.Logf("poison: 2 messages dead-lettered to order.dlq (%d there now), counted in /metrics; the next checkout was validated", dlq.Messages)
}

// signInLimitsShared sends wrong passwords for one login from one address to the two auth
// instances in turn: the instances count them together, so exactly as many are checked as one
// instance allows (10 failures a minute per address and login), not twice as many. The limit's
// window is a minute of the clock: guesses that cross into the next one (a slow run) are sent
// again, for another login.
func signInLimitsShared(t *testing.T, f *instances) {
	for try := 1; ; try++ {
		login := testkit.Name("guessed")
		newClient(t, f.instance(0)).signUp("Guessed", login, "the right password")
		minute := windowOf(time.Minute)
		statuses := map[int]int{}
		for i := range 16 {
			c := newClient(t, f.instance(i%2))
			status, err := c.tryCall(http.MethodPost, "auth", "/users/signin", map[string]string{"login": login, "password": "a wrong guess"}, nil)
			require.NoError(t, err)
			statuses[status]++
		}
		t.Logf("16 wrong passwords over 2 auth instances: %v", statuses)
		if try < 3 && minute.crossed() > 1 {
			t.Log("the guesses crossed into the next minute's window: again")
			continue
		}
		assert.Equal(t, map[int]int{http.StatusUnauthorized: 10, http.StatusTooManyRequests: 6}, statuses)
		return
	}
}
