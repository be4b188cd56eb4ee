package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// A checkout stream: shoppers fill carts with one to three lines of a few articles, some of
// them scarce, check out, and pay the orders of theirs that catalog validated — all through
// the balancers, so the requests spread over every instance. Each operation is counted the
// way Jepsen does, by what the client can know of it:
//   - ok: acknowledged (200);
//   - failed: known not to have happened (a 4xx, or a connection refused before sending);
//   - unknown: no answer or one that does not say (cut connection, timeout, 5xx).
//
// The end state is then checked against those counts: every acknowledged checkout has exactly
// one order, unknown ones at most one, none of the failed ones any; every order is final; the
// stock of every article is its initial stock minus what the validated, paid, shipped and
// delivered orders hold (cancelled and invalid ones hold none); payments, refunds and events are
// never doubled. Shoppers cancel some of their orders, validated or paid, and with a payment
// deadline (streamConfig.deadline) the orders nobody pays expire.

// outcome is what a client knows about one operation.
type outcome int

const (
	opOK outcome = iota
	opFailed
	opUnknown
)

func classify(status int, err error) outcome {
	switch {
	case err != nil && notSent(err):
		return opFailed
	case err != nil:
		return opUnknown
	case status == http.StatusOK:
		return opOK
	case status >= 400 && status < 500:
		return opFailed
	default: // 5xx: a 503 or a balancer's 502 may come after the work was done
		return opUnknown
	}
}

// tally counts outcomes by operation.
type tally struct {
	mu     sync.Mutex
	counts map[string]*[3]int
	order  []string
	codes  map[string]map[string]int // operation → status or error → count, for the report
}

func (t *tally) add(op string, status int, err error) outcome {
	o := classify(status, err)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts, t.codes = map[string]*[3]int{}, map[string]map[string]int{}
	}
	if t.counts[op] == nil {
		t.counts[op], t.codes[op] = &[3]int{}, map[string]int{}
		t.order = append(t.order, op)
	}
	t.counts[op][o]++
	if o != opOK {
		what := fmt.Sprint(status)
		if err != nil {
			what = shortError(err)
		}
		t.codes[op][what]++
	}
	return o
}

func shortError(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for _, op := range t.order {
		c := t.counts[op]
		fmt.Fprintf(&b, "\n  %-12s ok %4d  failed %3d  unknown %3d", op, c[opOK], c[opFailed], c[opUnknown])
		if len(t.codes[op]) > 0 {
			fmt.Fprintf(&b, "  %v", t.codes[op])
		}
	}
	return b.String()
}

// streamConfig sizes a checkout stream.
type streamConfig struct {
	shoppers   int
	ordersEach int
	seed       uint64
	// deadline: the fleet cancels validated orders unpaid for a while (ORDERS_PAYMENT_DEADLINE),
	// so a validated order is not final: it ends paid or cancelled.
	deadline bool
}

// The articles of a stream: three plentiful, three scarce (demand outruns their stock).
var streamArticles = []struct {
	name  string
	price float64
	stock int
}{
	{"Tea mug", 8.50, 100000}, {"Notebook", 3.25, 100000}, {"Desk lamp", 24.99, 100000},
	{"Signed print", 120, 4}, {"First edition", 75.50, 7}, {"Prototype", 310, 12},
}

type checkoutOp struct {
	outcome outcome
	cart    cart // the closed cart, when acknowledged
}

type shopperRun struct {
	c         *client
	checkouts []checkoutOp
	payments  map[string]outcome // order id → the one payment attempt's outcome
	cancels   map[string]outcome // order id → the one cancellation attempt's outcome
}

// stream is a checkout stream being run or run.
type stream struct {
	cfg      streamConfig
	articles []article
	shoppers []*shopperRun
	ops      tally
	negative []string // stock readings below zero seen while it ran
	readings int      // stock readings taken while it ran
	// faultsOn keeps the shoppers shopping past cfg.ordersEach (up to 6 times as many) while a
	// fault test's faults still strike, so that they all strike mid-stream.
	faultsOn atomic.Bool
	// stale lists the orders whose GET /orders/{id} disagreed with their events when read final
	// (order id → what each said). GET catches a projection up with its events, so none may.
	stale map[string]string
}

// startStream prepares the articles and shoppers of a stream through urls.
func startStream(t *testing.T, urls map[string]string, cfg streamConfig) *stream {
	anon := newClient(t, urls)
	admin := anon.as(anon.signIn(adminLogin, adminPassword))
	s := &stream{cfg: cfg, stale: map[string]string{}}
	for _, a := range streamArticles {
		var created article
		admin.must(http.MethodPost, "catalog", "/articles", map[string]any{
			"name": a.name + " " + testkit.Name("s"), "description": "stream article", "price": a.price, "stock": a.stock,
		}, &created)
		s.articles = append(s.articles, created)
	}
	s.shoppers = make([]*shopperRun, cfg.shoppers)
	var wg sync.WaitGroup
	for i := range s.shoppers {
		wg.Go(func() {
			token := anon.signUp(fmt.Sprintf("Shopper %d", i), testkit.Name("shopper"), "stream password 1")
			s.shoppers[i] = &shopperRun{c: anon.as(token), payments: map[string]outcome{}, cancels: map[string]outcome{}}
		})
	}
	wg.Wait()
	return s
}

// run runs the stream: every shopper checks out cfg.ordersEach times, concurrently with the
// others. It returns when every shopper is done.
func (s *stream) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sampled := make(chan struct{})
	go s.sampleStock(ctx, newClient(t, s.shoppers[0].c.urls), sampled)
	var wg sync.WaitGroup
	for i, sh := range s.shoppers {
		rng := rand.New(rand.NewPCG(s.cfg.seed, uint64(i)))
		wg.Go(func() {
			for n := 0; n < s.cfg.ordersEach || (s.faultsOn.Load() && n < 6*s.cfg.ordersEach); n++ {
				s.shop(sh, rng)
			}
		})
	}
	wg.Wait()
	cancel()
	<-sampled
}

// shop fills a cart, checks it out and pays what of the shopper's got validated meanwhile.
func (s *stream) shop(sh *shopperRun, rng *rand.Rand) {
	lines := 1 + rng.IntN(3)
	for _, k := range rng.Perm(len(s.articles))[:lines] {
		status, err := sh.c.tryCall(http.MethodPost, "cart", "/cart/article",
			map[string]any{"articleId": s.articles[k].ID, "quantity": 1 + rng.IntN(2)}, nil)
		s.ops.add("add to cart", status, err)
	}
	var closed cart
	status, err := sh.c.tryCall(http.MethodPost, "cart", "/cart/checkout", nil, &closed)
	o := s.ops.add("checkout", status, err)
	if o != opFailed {
		sh.checkouts = append(sh.checkouts, checkoutOp{outcome: o, cart: closed})
	}
	if o != opOK {
		time.Sleep(250 * time.Millisecond) // as a person would before trying again
	}
	var list []orderSummary
	if status, err := sh.c.tryCall(http.MethodGet, "orders", "/orders?size=100", nil, &list); status != http.StatusOK || err != nil {
		return
	}
	for _, o := range list {
		_, paid := sh.payments[o.ID]
		_, cancelled := sh.cancels[o.ID]
		switch {
		case cancelled:
		case o.Status == "validated" && !paid && rng.IntN(4) == 0, o.Status == "payment_defined" && rng.IntN(6) == 0:
			// A shopper changes their mind: about a validated order, or one already paid (refunded).
			status, err := sh.c.tryCall(http.MethodPost, "orders", "/orders/"+o.ID+"/cancel", map[string]any{"reason": "stream"}, nil)
			sh.cancels[o.ID] = s.ops.add("cancel", status, err)
		case o.Status == "validated" && !paid:
			status, err := sh.c.tryCall(http.MethodPost, "orders", "/orders/"+o.ID+"/payment",
				map[string]any{"method": "CASH", "amount": o.TotalPrice}, nil)
			sh.payments[o.ID] = s.ops.add("payment", status, err)
		}
	}
}

// sampleStock reads the stock of the scarce articles while the stream runs: no reading may be
// below zero, not only the last one.
func (s *stream) sampleStock(ctx context.Context, c *client, done chan struct{}) {
	defer close(done)
	for ctx.Err() == nil {
		for _, a := range s.articles[3:] {
			var got article
			status, err := c.tryCall(http.MethodGet, "catalog", "/articles/"+a.ID, nil, &got)
			if err != nil || status != http.StatusOK {
				continue
			}
			s.readings++
			if got.Stock < 0 {
				s.negative = append(s.negative, fmt.Sprintf("%s at %d", a.Name, got.Stock))
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

var finalStatuses = []string{"validated", "invalid", "payment_defined", "shipped", "delivered", "cancelled"}

// verify waits until every order is final and checks the end state against the accounting;
// what names the run in the report it prints. It returns how many orders ended in each status.
func (s *stream) verify(t *testing.T, f *instances, what string, settle time.Duration) map[string]int {
	c := newClient(t, f.balanced())
	orders := map[*shopperRun][]order{}
	deadline := time.Now().Add(settle)
	for {
		pending := s.pendingOrders(c, orders)
		if pending == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not every order final within %s: %s\n%s\naccounting:%s", what, settle, pending, f.describe(t, pending), &s.ops)
		}
		time.Sleep(500 * time.Millisecond)
	}

	var acked, unknownCheckouts, total int
	statuses := map[string]int{}
	held := map[string]int{} // article id → units held by validated, paid, shipped or delivered orders
	for _, sh := range s.shoppers {
		list := orders[sh]
		byCart := map[string]order{}
		for _, o := range list {
			total++
			statuses[o.Status]++
			_, dup := byCart[o.CartID]
			assert.False(t, dup, "%s: two orders for cart %s", what, o.CartID)
			byCart[o.CartID] = o
			s.checkOrder(t, o, held)
		}
		ok, unknown := 0, 0
		for _, co := range sh.checkouts {
			switch co.outcome {
			case opOK:
				ok++
				o, found := byCart[co.cart.ID]
				if assert.True(t, found, "%s: acknowledged checkout of cart %s has no order", what, co.cart.ID) {
					assert.Equal(t, cartLines(co.cart), orderLines(o), "%s: order %s holds the lines of its cart", what, o.ID)
				}
			case opUnknown:
				unknown++
			}
		}
		acked += ok
		unknownCheckouts += unknown
		assert.GreaterOrEqual(t, len(list), ok, "%s: an order for every acknowledged checkout", what)
		assert.LessOrEqual(t, len(list), ok+unknown, "%s: no order without a checkout", what)
		s.checkPayments(t, what, sh, list)
	}
	stock := s.checkStock(t, c, f, what, held, orders)
	events := s.checkEvents(t, f, what, orders)
	assert.Empty(t, s.negative, "%s: stock read below zero while the stream ran", what)
	assert.Empty(t, s.stale, "%s: GET /orders/{id} behind the order's events", what)

	t.Logf("%s — accounting:%s\n  end state: %d orders %v for %d acknowledged + %d unknown checkouts of %d shoppers\n"+
		"  checked against: one order per acknowledged checkout (its cart's lines), at most one per unknown one, none for failed ones;\n"+
		"    every order final; stock = initial − units of validated/paid/shipped/delivered orders (cancelled and invalid hold none), for each article (%s);\n"+
		"    payments per order = acknowledged payments (+1 at most for an unknown one); a cancelled order refunds what it was paid, once; events: %s;\n"+
		"    %d stock readings during the stream, none below zero\n"+
		"  orders whose GET /orders/{id} was behind their events: %d %v",
		what, &s.ops, total, statuses, acked, unknownCheckouts, len(s.shoppers), stock, events, s.readings, len(s.stale), s.stale)
	return statuses
}

// pendingOrders fills orders with every shopper's orders and says what is not final yet ("" when
// everything is).
func (s *stream) pendingOrders(c *client, orders map[*shopperRun][]order) string {
	for _, sh := range s.shoppers {
		var list []orderSummary
		if status, err := sh.c.withURLs(c.urls).tryCall(http.MethodGet, "orders", "/orders?size=100", nil, &list); status != http.StatusOK || err != nil {
			return fmt.Sprintf("GET /orders answered %d %v", status, err)
		}
		acked := 0
		for _, co := range sh.checkouts {
			if co.outcome == opOK {
				acked++
			}
		}
		if len(list) < acked {
			return fmt.Sprintf("a shopper has %d orders for %d acknowledged checkouts", len(list), acked)
		}
		full := make([]order, 0, len(list))
		for _, summary := range list {
			if !slices.Contains(finalStatuses, summary.Status) || (s.cfg.deadline && summary.Status == "validated") {
				return fmt.Sprintf("order %s is %s", summary.ID, summary.Status)
			}
			// The order as its events say (rebuilt), which the checks use, and as its projection
			// says: a projection left behind its events is reported (see stale).
			var o, projected order
			for _, read := range []struct {
				path string
				out  *order
			}{{"/orders/" + summary.ID, &projected}, {"/orders/" + summary.ID + "/update", &o}} { // projection first: update rewrites it
				if status, err := sh.c.withURLs(c.urls).tryCall(http.MethodGet, "orders", read.path, nil, read.out); status != http.StatusOK || err != nil {
					return fmt.Sprintf("GET %s answered %d %v", read.path, status, err)
				}
			}
			if projected.Status != o.Status || len(projected.Payments) != len(o.Payments) {
				s.stale[o.ID] = fmt.Sprintf("%s with %d payments, events say %s with %d", projected.Status, len(projected.Payments), o.Status, len(o.Payments))
			}
			full = append(full, o)
		}
		orders[sh] = full
	}
	return ""
}

// withURLs returns a copy of c that talks to urls.
func (c *client) withURLs(urls map[string]string) *client {
	cp := *c
	cp.urls = urls
	return &cp
}

// checkOrder checks one final order and adds what it holds to held.
func (s *stream) checkOrder(t *testing.T, o order, held map[string]int) {
	allValid, refused := true, false
	var total float64
	for _, a := range o.Articles {
		allValid = allValid && a.IsValidated && a.IsValid
		refused = refused || (a.IsValidated && !a.IsValid)
		total += a.UnitaryPrice * float64(a.Quantity)
	}
	switch o.Status {
	case "validated", "payment_defined", "shipped", "delivered":
		assert.True(t, allValid, "order %s is %s without every article answered valid", o.ID, o.Status)
		assert.InDelta(t, total, o.TotalPrice, 0.001, "order %s total", o.ID)
		for _, a := range o.Articles {
			held[a.ArticleID] += a.Quantity
		}
	case "invalid": // as soon as one article is refused; the other answers may still be on their way
		assert.True(t, refused || o.Reason == "too_many_unpaid_orders", "order %s is invalid with no article refused", o.ID)
	case "cancelled": // holds nothing; what was paid is refunded, once
		var refunded float64
		for _, r := range o.Refunds {
			refunded += r.Amount
		}
		assert.LessOrEqual(t, len(o.Refunds), 1, "order %s refunded once", o.ID)
		assert.InDelta(t, o.TotalPayment, refunded, 0.001, "order %s refunds what it was paid", o.ID)
	}
}

// checkPayments: an order has as many payments as acknowledged attempts, at most one more for
// an unknown one, and is payment_defined exactly when paid.
func (s *stream) checkPayments(t *testing.T, what string, sh *shopperRun, list []order) {
	for _, o := range list {
		attempt, tried := sh.payments[o.ID]
		switch {
		case !tried || attempt == opFailed:
			assert.Empty(t, o.Payments, "%s: order %s paid without an attempt that could have", what, o.ID)
		case attempt == opOK:
			assert.Len(t, o.Payments, 1, "%s: order %s paid once", what, o.ID)
		default:
			assert.LessOrEqual(t, len(o.Payments), 1, "%s: order %s paid at most once", what, o.ID)
		}
		if o.Status != "cancelled" {
			assert.Equal(t, len(o.Payments) > 0, o.Status == "payment_defined", "%s: order %s status %s with %d payments", what, o.ID, o.Status, len(o.Payments))
		}
		if attempt, tried := sh.cancels[o.ID]; tried && attempt == opOK {
			assert.Equal(t, "cancelled", o.Status, "%s: order %s acknowledged cancelled", what, o.ID)
		}
		if o.Status == "cancelled" && (o.Cancellation == nil || o.Cancellation.Reason != "payment_deadline") {
			_, tried := sh.cancels[o.ID]
			assert.True(t, tried, "%s: order %s cancelled without an attempt that could have", what, o.ID)
		}
	}
}

// checkStock compares every article's stock, as each catalog instance serves it (from its read
// model), with its initial stock minus what the validated and paid orders hold.
func (s *stream) checkStock(t *testing.T, c *client, f *instances, what string, held map[string]int, orders map[*shopperRun][]order) string {
	// Catalog returns a cancelled order's units when it handles order_cancelled (or a status
	// job publishes it again): wait, within a bound, for every instance to show them back.
	settled := func() bool {
		for i, a := range s.articles {
			for k := range f.procs["catalog"] {
				var got article
				if status, err := c.withURLs(f.instance(k)).tryCall(http.MethodGet, "catalog", "/articles/"+a.ID, nil, &got); status != http.StatusOK || err != nil ||
					got.Stock != streamArticles[i].stock-held[a.ID] {
					return false
				}
			}
		}
		return true
	}
	for deadline := time.Now().Add(time.Minute); !settled() && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
	}
	var parts []string
	for i, a := range s.articles {
		want := streamArticles[i].stock - held[a.ID]
		var got article
		for k := range f.procs["catalog"] {
			c.withURLs(f.instance(k)).must(http.MethodGet, "catalog", "/articles/"+a.ID, nil, &got)
			assert.GreaterOrEqual(t, got.Stock, 0, "%s: stock of %s", what, a.Name)
			if !assert.Equal(t, want, got.Stock, "%s: stock of %s on catalog instance %d", what, a.Name, k) {
				t.Logf("%s: %s", a.Name, explainStock(t, f, a.ID, orders))
			}
		}
		parts = append(parts, fmt.Sprintf("%d−%d=%d", streamArticles[i].stock, held[a.ID], got.Stock))
	}
	return strings.Join(parts, ", ")
}

// explainStock says, for an article whose stock is not what the orders hold, which orders the
// catalog's ledger and the orders service disagree about: each order's net move in the ledger
// against the quantity it holds by its status.
func explainStock(t *testing.T, f *instances, articleID string, orders map[*shopperRun][]order) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := mongox.Connect(ctx, f.mongoURL)
	require.NoError(t, err)
	defer client.Disconnect(ctx)
	id, err := bson.ObjectIDFromHex(articleID)
	require.NoError(t, err)
	catalogDB := client.Database("catalog_" + f.dbSuffix)
	cur, err := catalogDB.Collection("stock_ledger").Find(ctx, bson.M{"articleId": id})
	require.NoError(t, err)
	var moves []struct {
		Seq     int64  `bson:"seq"`
		Delta   int64  `bson:"delta"`
		Reason  string `bson:"reason"`
		Key     string `bson:"key"`
		OrderID string `bson:"orderId"`
	}
	require.NoError(t, cur.All(ctx, &moves))
	net, seqs := map[string]int64{}, map[int64]int{}
	for _, m := range moves {
		net[m.OrderID] -= m.Delta
		seqs[m.Seq]++
	}
	holds := map[string]string{}
	for _, list := range orders {
		for _, o := range list {
			q := 0
			for _, l := range o.Articles {
				if l.ArticleID == articleID && slices.Contains([]string{"validated", "payment_defined", "shipped", "delivered"}, o.Status) {
					q += l.Quantity
				}
			}
			holds[o.ID] = fmt.Sprintf("%s holding %d", o.Status, q)
			if int64(q) != net[o.ID] {
				var r bson.M
				_ = catalogDB.Collection("reservations").FindOne(ctx, bson.M{"_id": o.ID}).Decode(&r)
				return fmt.Sprintf("order %s is %s but the ledger has %d reserved for it; its reservation: %v", o.ID, holds[o.ID], net[o.ID], r)
			}
		}
	}
	for orderID, n := range net {
		if _, known := holds[orderID]; !known && orderID != "" && n != 0 {
			return fmt.Sprintf("the ledger has %d reserved for order %s, which no shopper has", n, orderID)
		}
	}
	return fmt.Sprintf("%d moves, every order's net move matches; moves per seq: %v", len(moves), seqs)
}

// checkEvents reads the orders service's event log (its own database) for the stream's orders:
// one placed event per order, one article_validated per line, one payment_defined per payment.
func (s *stream) checkEvents(t *testing.T, f *instances, what string, orders map[*shopperRun][]order) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := mongox.Connect(ctx, f.mongoURL)
	require.NoError(t, err)
	defer client.Disconnect(ctx)
	cur, err := client.Database("orders_"+f.dbSuffix).Collection("events").Find(ctx, bson.M{})
	require.NoError(t, err)
	var events []struct {
		OrderID string `bson:"orderId"`
		Type    string `bson:"type"`
		Data    struct {
			ArticleID string `bson:"articleId"`
		} `bson:"data"`
	}
	require.NoError(t, cur.All(ctx, &events))
	count := map[string]int{}
	for _, e := range events {
		count[e.OrderID+"/"+e.Type+"/"+e.Data.ArticleID]++
	}
	n := 0
	for _, list := range orders {
		for _, o := range list {
			n++
			assert.Equal(t, 1, count[o.ID+"/placed/"], "%s: placed events of %s", what, o.ID)
			for _, a := range o.Articles {
				n := count[o.ID+"/article_validated/"+a.ArticleID]
				if a.IsValidated {
					assert.Equal(t, 1, n, "%s: article_validated events of %s/%s", what, o.ID, a.ArticleID)
				} else { // an invalid order's answer, still on its way when the order was read
					assert.LessOrEqual(t, n, 1, "%s: article_validated events of %s/%s", what, o.ID, a.ArticleID)
				}
			}
			assert.Equal(t, len(o.Payments), count[o.ID+"/payment_defined/"], "%s: payment_defined events of %s", what, o.ID)
			cancelled := 0
			if o.Status == "cancelled" {
				cancelled = 1
			}
			assert.Equal(t, cancelled, count[o.ID+"/cancelled/"], "%s: cancelled events of %s", what, o.ID)
			assert.Equal(t, len(o.Refunds), count[o.ID+"/refunded/"], "%s: refunded events of %s", what, o.ID)
		}
	}
	return fmt.Sprintf("%d events of %d orders, none doubled", len(events), n)
}

func cartLines(c cart) map[string]int {
	lines := map[string]int{}
	for _, l := range c.Articles {
		lines[l.ArticleID] += l.Quantity
	}
	return lines
}

func orderLines(o order) map[string]int {
	lines := map[string]int{}
	for _, a := range o.Articles {
		lines[a.ArticleID] += a.Quantity
	}
	return lines
}

// percentiles returns the p-th percentiles (0–100) of ds.
func percentiles(ds []time.Duration, ps ...float64) []time.Duration {
	sorted := slices.Clone(ds)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	out := make([]time.Duration, len(ps))
	for i, p := range ps {
		k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
		out[i] = sorted[max(0, min(k, len(sorted)-1))]
	}
	return out
}

// describe returns, for a test's failure message, what the stores hold about the order named
// in what ("order <id> …"): its events and catalog's reservation.
func (f *instances) describe(t *testing.T, what string) string {
	var id string
	if _, err := fmt.Sscanf(what, "order %s", &id); err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client, err := mongox.Connect(ctx, f.mongoURL)
	if err != nil {
		return err.Error()
	}
	defer client.Disconnect(ctx)
	var b strings.Builder
	for _, q := range []struct {
		db, coll string
		filter   bson.M
	}{
		{"orders", "events", bson.M{"orderId": id}},
		{"orders", "orders", bson.M{"_id": id}},
		{"catalog", "reservations", bson.M{"_id": id}},
	} {
		var docs []bson.M
		cur, err := client.Database(q.db+"_"+f.dbSuffix).Collection(q.coll).Find(ctx, q.filter)
		if err == nil {
			err = cur.All(ctx, &docs)
		}
		fmt.Fprintf(&b, "%s.%s: %v %v\n", q.db, q.coll, docs, err)
	}
	if u, err := url.Parse(f.rabbitURL); err == nil {
		out, err := exec.Command("rabbitmqctl", slices.Concat([]string{"-q"}, rabbitNode(u), []string{"list_queues", "-p", strings.TrimPrefix(u.Path, "/"),
			"name", "messages_ready", "messages_unacknowledged", "consumers"})...).CombinedOutput()
		fmt.Fprintf(&b, "queues: %s %v\n", out, err)
	}
	for _, p := range slices.Concat(f.procs["orders"], f.procs["catalog"], f.procs["cart"]) {
		resp, err := http.Get(p.url + "/metrics")
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "messages_") {
				fmt.Fprintf(&b, "%s %s\n", p, sc.Text())
			}
		}
		resp.Body.Close()
	}
	return b.String()
}

// rabbitNode is the node name rabbitmqctl must talk to for the broker at u: a disposable
// node of testkit's is named after its port.
func rabbitNode(u *url.URL) []string {
	if u.Port() == "5672" || u.Port() == "" {
		return nil
	}
	return []string{"-n", "test" + u.Port() + "@localhost"}
}
