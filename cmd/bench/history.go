package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ecommerce-go/ecommerce/internal/benchkit"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// history measures the median of each read (and of two writes) on the shop as stocked, seeds
// history in bulk straight into the stores, and measures again.
func history(ctx context.Context, s settings, f *benchkit.Fleet, sh *shop, rep *Report) error {
	c := &client{urls: f.URLs}
	reads := []struct {
		name   string
		token  string
		svc    string
		path   string
		method string
		body   any
	}{
		{"POST /articles/{id} (stock set: a ledger move)", sh.adminToken, "catalog", "/articles/" + sh.articles[5], "POST", map[string]any{"stock": 1_000_000}},
		{"POST /cart/article/{id}/increment", sh.token, "cart", "/cart/article/" + sh.articles[1] + "/increment", "POST", nil},
		{"GET /articles/{id}", "", "catalog", "/articles/" + sh.articles[0], "GET", nil},
		{"GET /articles/search/{words}", "", "catalog", "/articles/search/bench%20lamp", "GET", nil},
		{"GET /articles?page=1&size=20", "", "catalog", "/articles?page=1&size=20", "GET", nil},
		{"GET /cart", sh.token, "cart", "/cart", "GET", nil},
		{"GET /orders", sh.token, "orders", "/orders", "GET", nil},
		{"GET /orders/{id}", sh.token, "orders", "/orders/" + sh.orderID, "GET", nil},
	}
	// The checkout before left an empty cart: give the increments a line.
	if err := c.do(ctx, sh.token, "POST", "cart", "/cart/article", map[string]any{"articleId": sh.articles[1], "quantity": 1}, nil); err != nil {
		return err
	}
	measure := func() ([]float64, error) {
		var out []float64
		for _, r := range reads {
			p50, err := median(ctx, s.samples, func() error { return c.do(ctx, r.token, r.method, r.svc, r.path, r.body, nil) })
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.name, err)
			}
			out = append(out, p50)
		}
		return out, nil
	}
	fresh, err := measure()
	if err != nil {
		return err
	}
	fmt.Printf("bench: seeding %d stock moves and %d orders\n", s.moves, s.orders)
	start := time.Now()
	if err := seed(ctx, f.MongoURL, sh, s.moves, s.orders); err != nil {
		return err
	}
	rep.Seeded = map[string]int{"stockMoves": s.moves, "orders": s.orders, "carts": s.orders, "orderEvents": 3 * s.orders,
		"seedSeconds": int(time.Since(start).Seconds())}
	if err := f.Settle(ctx); err != nil {
		return err
	}
	later, err := measure()
	if err != nil {
		return err
	}
	for i, r := range reads {
		rep.History = append(rep.History, HistoryRow{Endpoint: r.name, FreshMs: fresh[i], HistoryMs: later[i], Ratio: later[i] / fresh[i]})
	}
	return nil
}

// seed writes history straight into the stores, in batches, in the documents' stored shapes
// (catalog/ledger.go, orders/store.go and userorders.go, cart/store.go): moves spread over the
// shop's articles, and paid orders of other users, each with its closed cart, three events and
// its Order_Status entry.
func seed(ctx context.Context, mongoURL string, sh *shop, moves, orders int) error {
	client, err := mongox.Connect(ctx, mongoURL)
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	now := time.Now().UTC()

	catalog := client.Database("catalog")
	perArticle := moves / len(sh.articles)
	for _, id := range sh.articles {
		oid, err := bson.ObjectIDFromHex(id)
		if err != nil {
			return err
		}
		var head struct {
			Seq     int64    `bson:"seq"`
			Balance int64    `bson:"balance"`
			State   bson.Raw `bson:"state"` // the article's sale state, which every move carries
		}
		if err := catalog.Collection("stock_heads").FindOne(ctx, bson.M{"_id": id}).Decode(&head); err != nil {
			return fmt.Errorf("stock head of %s: %w", id, err)
		}
		batch := make([]any, 0, perArticle)
		for i := range int64(perArticle) {
			seq := head.Seq + 1 + i
			batch = append(batch, bson.M{"_id": id + "/" + strconv.FormatInt(seq, 10), "key": "bench/" + id + "/" + strconv.FormatInt(seq, 10),
				"articleId": oid, "seq": seq, "delta": 0, "balance": head.Balance, "reason": "set", "state": head.State, "at": now})
		}
		if err := insertBatches(ctx, catalog.Collection("stock_ledger"), batch); err != nil {
			return err
		}
		_, err = catalog.Collection("stock_heads").UpdateOne(ctx, bson.M{"_id": id},
			bson.M{"$set": bson.M{"seq": head.Seq + int64(perArticle)}})
		if err != nil {
			return err
		}
	}

	ordersDB, cartDB := client.Database("orders"), client.Database("cart")
	var projections, statuses, events, lists, heads, states, cartHeads, pointers []any
	const users = 500
	for i := range orders {
		user := fmt.Sprintf("bench-user-%03d", i%users)
		n := i/users + 1
		cartID := fmt.Sprintf("%s:%d", user, n)
		orderID := fmt.Sprintf("%024x", 0xbe0000+i)
		lines := bson.A{bson.M{"articleId": sh.articles[i%len(sh.articles)], "quantity": 1}}
		// Old orders are paid: payment_defined, the status whose batch job runs least often.
		projections = append(projections, bson.M{"_id": orderID, "userId": user, "cartId": cartID, "status": "payment_defined",
			"articles": bson.A{bson.M{"articleId": sh.articles[i%len(sh.articles)], "quantity": 1, "isValidated": true, "isValid": true, "unitaryPriceCents": 999}},
			"payments": bson.A{bson.M{"method": "CASH", "amountCents": 999}}, "totalPriceCents": 999, "totalPaymentCents": 999,
			"created": now, "updated": now, "version": 3, "placedPublished": true})
		// Shown in Order_Status by the status jobs long ago: off their work list (orders/statuswork.go).
		statuses = append(statuses, bson.M{"_id": orderID, "userId": user, "status": "payment_defined", "updated": now, "version": 3})
		article := sh.articles[i%len(sh.articles)]
		// Events as orders stores them: _id "<orderId>/<version>", key the fact (orders/store.go).
		events = append(events,
			bson.M{"_id": orderID + "/1", "key": orderID + "/placed", "orderId": orderID, "version": 1, "type": "placed", "at": now,
				"data": bson.M{"cartId": cartID, "userId": user, "articles": lines}},
			bson.M{"_id": orderID + "/2", "key": orderID + "/article/" + article, "orderId": orderID, "version": 2, "type": "article_validated", "at": now,
				"data": bson.M{"articleId": article, "valid": true, "priceCents": 999, "stock": 5}},
			bson.M{"_id": orderID + "/3", "key": orderID + "/payment_defined/3", "orderId": orderID, "version": 3, "type": "payment_defined", "at": now,
				"data": bson.M{"method": "CASH", "amountCents": 999}})
		lists = append(lists, bson.M{"_id": user + "/" + strconv.Itoa(n), "userId": user, "n": n, "orderId": orderID})
		state := bson.M{"_id": cartID + "/1", "cartId": cartID, "userId": user, "gen": n, "version": 1, "orderId": orderID,
			"articles": bson.A{bson.M{"articleId": sh.articles[i%len(sh.articles)], "quantity": 1, "valid": true, "validated": true}},
			"enabled":  false, "created": now, "updated": now}
		states = append(states, state)
		pointers = append(pointers, bson.M{"_id": cartID, "userId": user, "version": 1, "orderId": orderID, "closed": now})
		if i+users >= orders { // the user's last order
			heads = append(heads, bson.M{"_id": user, "n": n})
			cartHeads = append(cartHeads, bson.M{"_id": user, "state": state})
		}
	}
	for _, w := range []struct {
		coll *mongo.Collection
		docs []any
	}{
		{ordersDB.Collection("orders"), projections}, {ordersDB.Collection("order_status"), statuses}, {ordersDB.Collection("events"), events},
		{ordersDB.Collection("user_orders"), lists}, {ordersDB.Collection("user_order_heads"), heads},
		{cartDB.Collection("cart_states"), states}, {cartDB.Collection("cart_heads"), cartHeads}, {cartDB.Collection("cart_closed"), pointers},
	} {
		if err := insertBatches(ctx, w.coll, w.docs); err != nil {
			return err
		}
	}
	return nil
}

func insertBatches(ctx context.Context, coll *mongo.Collection, docs []any) error {
	start, total := time.Now(), len(docs)
	defer func() {
		fmt.Printf("  seeded %d into %s in %s\n", total, coll.Name(), time.Since(start).Round(time.Millisecond))
	}()
	for len(docs) > 0 {
		n := min(len(docs), 1000)
		if _, err := coll.InsertMany(ctx, docs[:n], options.InsertMany().SetOrdered(false)); err != nil {
			return fmt.Errorf("seed %s: %w", coll.Name(), err)
		}
		docs = docs[n:]
	}
	return nil
}

// checkoutRoundTrips counts the store round trips, across every service, of one checkout of a
// 3-line cart: from POST /cart/checkout until the order is validated. Lines are added before
// counting. Validation is awaited on orders' /metrics, which costs no round trip: the order's
// projection is first written when it leaves placed (orders/service.go), so the count stops at
// the first write to the orders collection after the checkout; a GET after counting checks that
// the order is validated. (Polling GET /orders/{id} would add round trips of its own, more for
// an order still placed, whose answers are folded from its events.)
func checkoutRoundTrips(ctx context.Context, f *benchkit.Fleet, sh *shop, rep *Report) error {
	c := &client{urls: f.URLs}
	for _, a := range sh.articles[2:4] { // the open cart holds articles[1] already
		if err := c.do(ctx, sh.token, "POST", "cart", "/cart/article", map[string]any{"articleId": a, "quantity": 1}, nil); err != nil {
			return err
		}
	}
	time.Sleep(500 * time.Millisecond) // let the lines' asynchronous validation settle
	before, err := roundTrips(ctx, f)
	if err != nil {
		return err
	}
	var closed struct {
		ID string `json:"_id"`
	}
	if err := c.do(ctx, sh.token, "POST", "cart", "/cart/checkout", nil, &closed); err != nil {
		return err
	}
	var after map[string]int64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if after, err = roundTrips(ctx, f); err != nil {
			return err
		}
		if after[projectionWrites] > before[projectionWrites] {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the order of cart %s was never projected", closed.ID)
		}
	}
	orderID := orderIDForCart(closed.ID)
	var o struct{ Status string }
	if err := c.do(ctx, sh.token, "GET", "orders", "/orders/"+orderID, nil, &o); err != nil {
		return err
	}
	if o.Status != "validated" {
		return fmt.Errorf("order %s is %s, not validated", orderID, o.Status)
	}
	total := int64(0)
	for _, svc := range []string{"auth", "catalog", "cart", "orders"} {
		rep.Checkout[svc] = after[svc] - before[svc]
		total += rep.Checkout[svc]
	}
	rep.Checkout["total"] = total
	return nil
}

// projectionWrites is the key under which roundTrips counts orders' writes of Order projections.
const projectionWrites = "orders projections"

// roundTrips sums store_round_trips_total of each service's /metrics.
func roundTrips(ctx context.Context, f *benchkit.Fleet) (map[string]int64, error) {
	out := map[string]int64{}
	for _, svc := range []string{"auth", "catalog", "cart", "orders"} {
		req, err := http.NewRequestWithContext(ctx, "GET", f.URLs[svc]+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "store_round_trips_total{") {
				continue
			}
			fields := strings.Fields(line)
			v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
			if err != nil {
				continue
			}
			out[svc] += int64(v)
			if svc == "orders" && strings.Contains(line, `collection="orders"`) && strings.Contains(line, `command="update"`) {
				out[projectionWrites] += int64(v)
			}
		}
		resp.Body.Close()
	}
	return out, nil
}
