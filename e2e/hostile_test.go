package e2e

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// The hostile-input suite: generated bad requests over every route of every service, run as a
// stranger would send them to the fleet of separate processes. Whatever arrives, no answer may
// be a 5xx, every process must stay within hostileMemoryLimit, and the fleet must still be
// healthy and serve a real user afterwards.
//
// make test sends a few hundred; HOSTILE_LONG=1 (make hostile) sends hostileLongRequests.
const (
	hostileShortRequests = 800
	hostileLongRequests  = 12_000
	hostileWorkers       = 8
	hostileMemoryLimit   = 512 << 20 // resident bytes of each service process
)

// e2eSecret is the JWT_SECRET startProcesses gives auth: knowing it lets the suite forge
// well-signed tokens that name no token record, as a leaked key would.
const e2eSecret = "e2e-secret-0123456789abcdef0123456789abcdef"

func TestHostileInputs(t *testing.T) {
	parallel(t)
	requests := hostileShortRequests
	if os.Getenv("HOSTILE_LONG") != "" {
		requests = hostileLongRequests
	}
	s := startProcesses(t, testkit.RabbitURL(t))
	anon := newClient(t, s.urls)
	admin := anon.as(anon.signIn(s.adminLogin, s.adminPassword))
	userToken := anon.signUp("Hostile shopper", testkit.Name("hostile"), "hostile shopper password")
	var victim struct{ ID string }
	anon.as(anon.signUp("Victim", testkit.Name("victim"), "victim password 1")).must(http.MethodGet, "auth", "/users/current", nil, &victim)
	var a article
	admin.must(http.MethodPost, "catalog", "/articles", map[string]any{"name": "Target mug", "description": "Holds tea", "price": 8, "stock": 100}, &a)
	var img struct{ ID string }
	admin.must(http.MethodPost, "image", "/images/create", map[string]string{"image": pngDataURL(t, 8, 8)}, &img)

	g := &hostileGen{
		ids: []string{a.ID, victim.ID, img.ID, "5f1d7a3e9b1e8a2c3d4e5f60", "0b8f5c1e-6f0a-4c5e-9a57-3d2b1c0e9f42"},
		// Real tokens at 1 and 2, then forged, expired and malformed ones.
		tokens: []string{"", userToken, admin.token, "garbage", forgeToken("HS256", "another-secret-of-32-bytes-or-more!!", 0), forgeToken("HS256", e2eSecret, 0), forgeToken("HS256", e2eSecret, -3600), forgeToken("none", "", 0), forgeToken("HS512", e2eSecret, 0), userToken + "x", strings.Repeat("A", 5000)},
	}
	memory := watchMemory(t, s.urls)

	var sent atomic.Int64
	var mu sync.Mutex
	counts := map[int]int{}
	var failures []string
	client := &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var wg sync.WaitGroup
	for w := range hostileWorkers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 14))
			for sent.Add(1) <= int64(requests) {
				req, body, what := g.request(rng, s.urls)
				status, err := send(client, req, body)
				mu.Lock()
				counts[status]++
				if status >= 500 || status == 0 {
					failures = append(failures, fmt.Sprintf("%d (%v) for %s", status, err, what))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	peaks := memory()

	statuses := slices.Sorted(func(yield func(int) bool) {
		for s := range counts {
			if !yield(s) {
				return
			}
		}
	})
	var report []string
	for _, status := range statuses {
		report = append(report, fmt.Sprintf("%d: %d", status, counts[status]))
	}
	t.Logf("%d hostile requests, by status: %s", requests, strings.Join(report, ", "))
	for _, name := range serviceNames {
		t.Logf("%s: peak resident memory %d MB", name, peaks[name]>>20)
		assert.Less(t, peaks[name], uint64(hostileMemoryLimit), "%s resident memory", name)
	}
	if len(failures) > 0 {
		t.Errorf("%d answers were 5xx or none; the first ones:\n%s", len(failures), strings.Join(failures[:min(len(failures), 20)], "\n"))
	}

	// Every service is still healthy, and a real user is still served.
	for _, name := range serviceNames {
		resp, err := http.Get(s.urls[name] + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s ready after the attack", name)
	}
	var got article
	anon.must(http.MethodGet, "catalog", "/articles/"+a.ID, nil, &got)
	assert.Equal(t, a.ID, got.ID)
	user := anon.as(anon.signUp("After the attack", testkit.Name("after"), "after the attack pw"))
	user.must(http.MethodPost, "cart", "/cart/article", map[string]any{"articleId": a.ID, "quantity": 1}, nil)
}

// send sends req and returns the status, or 0 and the error when no answer came. A request
// whose first try got no answer is sent once more: the standard library's server answers a
// request line it cannot parse (say, a path with "%zz") with 400 and closes at once, and when the
// client is still writing, the close can reset the connection before the answer is read. Twice
// without an answer is a failure.
func send(client *http.Client, req *http.Request, body string) (int, error) {
	resp, err := client.Do(req)
	if err != nil {
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(strings.NewReader(body))
		req.Close = true
		resp, err = client.Do(req)
	}
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// route is one route of the fleet: {id} in path is replaced by a generated id.
type route struct {
	service, method, path string
	body                  bool
}

var hostileRoutes = []route{
	{"auth", "POST", "/users/signup", true}, {"auth", "POST", "/users/signin", true},
	{"auth", "GET", "/users/signout", false}, {"auth", "GET", "/users/current", false},
	{"auth", "POST", "/users/password", true}, {"auth", "GET", "/users/all", false},
	{"auth", "POST", "/users/{id}/enable", false}, {"auth", "POST", "/users/{id}/disable", false},
	{"auth", "POST", "/users/{id}/grant", true}, {"auth", "POST", "/users/{id}/revoke", true},
	{"image", "POST", "/images/create", true}, {"image", "GET", "/images/{id}", false},
	{"image", "GET", "/images/{id}/jpeg", false},
	{"catalog", "GET", "/articles/{id}", false}, {"catalog", "GET", "/articles/search/{id}", false},
	{"catalog", "GET", "/articles", false}, {"catalog", "POST", "/articles", true},
	{"catalog", "POST", "/articles/{id}", true}, {"catalog", "DELETE", "/articles/{id}", false},
	{"cart", "GET", "/cart", false}, {"cart", "POST", "/cart/article", true},
	{"cart", "POST", "/cart/article/{id}/increment", false}, {"cart", "POST", "/cart/article/{id}/decrement", false},
	{"cart", "DELETE", "/cart/article/{id}", false}, {"cart", "GET", "/cart/validate", false},
	{"cart", "POST", "/cart/checkout", false},
	{"orders", "GET", "/orders", false}, {"orders", "GET", "/orders/{id}", false},
	{"orders", "POST", "/orders/{id}/payment", true}, {"orders", "GET", "/orders/{id}/update", false},
	{"orders", "GET", "/orders/status", false},
	{"auth", "GET", "/healthz", false}, {"catalog", "GET", "/readyz", false}, {"cart", "GET", "/metrics", false},
}

// hostileGen makes bad requests: every part of a request is drawn from its own list of tricks.
type hostileGen struct {
	ids    []string // real and well-formed ids, mixed with the tricks below
	tokens []string
}

var (
	idTricks = []string{"", "x", "..", "../../etc/passwd", "..%2f..%2fadmin", "%00", "a%00b", "%zz", "%ff%fe",
		"%ef%bc%a1", "*", "$where", "{\"$ne\":null}", "5F1D7A3E9B1E8A2C3D4E5F60", "5f1d7a3e9b1e8a2c3d4e5f6",
		"0B8F5C1E-6F0A-4C5E-9A57-3D2B1C0E9F42", "null", "-1", "1e309", "%20", "a;b", "a%2Fb", "%c0%ae%c0%ae",
		"\u202eevil", "ﬁ", "%F0%9F%98%80", "a?b=c"}
	queryTricks = []string{"", "page=-1&size=1e9", "size=99999999999999999999", "page=0&size=0", "q=%00",
		"q=%ff", "q=" + strings.Repeat("a", 5000), "size=abc&size=10&page=[1]", "Size=160", "size=-160",
		"status=placed&status=%00", "q=.*&q=$regex", "page=1&size=100"}
	contentTypes = []string{"application/json", "", "text/plain", "application/xml", "multipart/form-data; boundary=x",
		"application/json; charset=utf-16", "application/x-www-form-urlencoded", "}{", "image/png"}
)

// hostileBodies are the bodies of hostile requests: malformed and deeply nested JSON, wrong
// types, huge numbers, invalid UTF-8, oversized, and plausible ones with a twist.
var hostileBodies = func() []string {
	bodies := []string{
		"", "null", "[]", "{}", `"text"`, "0", "{", `{"a":`, `{"a":1,}`, `{"a":1}{"a":2}`, "\xef\xbb\xbf{}",
		strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000),
		strings.Repeat(`{"a":`, 5_000) + "1" + strings.Repeat("}", 5_000),
		`{"name":1,"login":2,"password":3,"price":"x","stock":"y","quantity":"z","amount":"w","image":7,"permissions":"admin"}`,
		`{"name":{},"login":[],"password":null,"permissions":{"0":"admin"},"articles":{}}`,
		`{"price":1e309,"stock":1e400,"quantity":99999999999999999999999,"amount":-1e308}`,
		`{"price":-0.001,"stock":-1,"quantity":-2147483649,"amount":0.0000001,"method":"CASH"}`,
		"{\"name\":\"\xff\xfe\",\"login\":\"a\xc3\",\"description\":\"\xed\xa0\x80\",\"password\":\"\xff\xff\xff\xff\xff\xff\xff\xff\"}",
		`{"name":"a\u0000b","login":"nul\u0000login","description":"\u001b[2J","articleId":"\u0000","password":"pass\u0000word"}`,
		`{"name":"\ud800","login":"\udfff\ud800abcd","password":"\uffff\uffff\uffff\uffff"}`,
		`{"name":"Ａdmin","login":"ｓｈｏｐａｄｍｉｎ","password":"admin-password-e2e"}`,
		`{"login":"shopadmin","password":"` + strings.Repeat("x", 100) + `"}`,
		`{"image":"../../etc/passwd","articleId":"../../admin","orderId":"$where","cartId":{"$ne":null}}`,
		`{"articleId":{"$gt":""},"userId":{"$regex":".*"},"referenceId":["a","b"],"quantity":1}`,
		`{"permissions":["admin","ADMIN","admin\u0000","` + strings.Repeat("p", 60) + `"]}`,
		`{"permissions":[` + strings.Repeat(`"x",`, 20_000) + `"x"]}`,
		`{"method":"BITCOIN","amount":10}`, `{"method":"cash","amount":"NaN"}`, `{"method":"CREDIT","amount":1e308}`,
		`{"articleId":"5f1d7a3e9b1e8a2c3d4e5f60","quantity":2147483648}`, `{"articleId":"","quantity":1}`,
		`{"currentPassword":"x","newPassword":"` + strings.Repeat("y", 73) + `"}`,
		`{"image":"data:image/png;base64,` + strings.Repeat("A", 4000) + `"}`,
		`{"image":"data:image/png;base64,iVBORw0KGgo=","name":"x"}`,
		`{"image":"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="}`,
		`{"name":"<script>alert(1)</script>","description":"' OR 1=1 --","price":1,"image":"javascript:alert(1)"}`,
		`{"__proto__":{"admin":true},"constructor":{"prototype":{}}}`,
		`{"name":"x","price":0.1,"stock":1,"enabled":false,"_id":"5f1d7a3e9b1e8a2c3d4e5f60"}`,
	}
	bodies = append(bodies, `{"name":"`+strings.Repeat("A", 2<<20)+`"}`) // over every body limit
	return bodies
}()

// request draws one hostile request and says what it is, for the report.
func (g *hostileGen) request(rng *rand.Rand, urls map[string]string) (req *http.Request, body, what string) {
	r := hostileRoutes[rng.IntN(len(hostileRoutes))]
	method := r.method
	if rng.IntN(12) == 0 {
		method = []string{"PUT", "PATCH", "OPTIONS", "HEAD", "TRACE", "DELETE", "GET", "POST"}[rng.IntN(8)]
	}
	path := r.path
	if strings.Contains(path, "{id}") {
		id := g.ids[rng.IntN(len(g.ids))]
		switch rng.IntN(3) {
		case 0:
			id = idTricks[rng.IntN(len(idTricks))]
		case 1:
			if rng.IntN(4) == 0 {
				id = strings.Repeat("a", 1+rng.IntN(20_000))
			}
		}
		path = strings.Replace(path, "{id}", id, 1)
	}
	if rng.IntN(10) == 0 {
		path = []string{path + "/", "/" + path, path + "/..", strings.ToUpper(path), path + "%2f", path + "/./", path + "//x"}[rng.IntN(7)]
	}
	query := ""
	if rng.IntN(3) == 0 {
		query = queryTricks[rng.IntN(len(queryTricks))]
	}
	if r.body || rng.IntN(8) == 0 {
		body = hostileBodies[rng.IntN(len(hostileBodies))]
	}
	req, err := http.NewRequest(method, urls[r.service]+"/", strings.NewReader(body))
	if err != nil {
		panic(err) // the base URL is the test's own
	}
	req.URL.Opaque = path // sent as written, escapes and all
	req.URL.RawQuery = query
	if ct := contentTypes[rng.IntN(len(contentTypes))]; ct != "" && rng.IntN(2) == 0 {
		req.Header.Set("Content-Type", ct)
	} else if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	token := g.tokens[rng.IntN(len(g.tokens))]
	if rng.IntN(2) == 0 {
		token = g.tokens[1+rng.IntN(2)] // half the time a real user's or admin's: bad input past the door
	}
	switch rng.IntN(6) {
	case 0:
		req.Header.Set("Authorization", "Basic "+token)
	case 1:
		req.Header.Set("Authorization", "bearer  "+token+" extra")
	default:
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	switch rng.IntN(20) {
	case 0:
		req.Header.Set("X-Big", strings.Repeat("h", 70<<10)) // over the header limit
	case 1:
		req.Header.Set("X-Correlation-Id", strings.Repeat("c", 4000))
	case 2:
		req.Header.Set("Size", "-1e9")
	case 3:
		req.Header.Set("X-Forwarded-For", "1.2.3.4, not-an-ip, ::1")
	case 4:
		req.Header.Set("If-None-Match", strings.Repeat(`"x",`, 2000))
	}
	shown := body
	if len(shown) > 80 {
		shown = shown[:80] + "…"
	}
	return req, body, fmt.Sprintf("%s %s %s?%.60s body %q", r.service, method, truncate(path, 80), query, shown)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// forgeToken makes a JWT with claims naming a token record that does not exist, signed with alg
// and key ("none": unsigned), and an expiry ageSeconds from now when not 0.
func forgeToken(alg, key string, ageSeconds int) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	claims := map[string]any{"tokenID": "5f1d7a3e9b1e8a2c3d4e5f60", "userID": "5f1d7a3e9b1e8a2c3d4e5f61"}
	if ageSeconds != 0 {
		claims["exp"] = time.Now().Unix() + int64(ageSeconds)
	}
	payload, _ := json.Marshal(claims)
	unsigned := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	if alg == "none" {
		return unsigned + "."
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

// watchMemory samples each service's resident memory from its /metrics until the returned
// function is called, which gives the peak of each.
func watchMemory(t *testing.T, urls map[string]string) func() map[string]uint64 {
	var mu sync.Mutex
	peaks := map[string]uint64{}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			for _, name := range serviceNames {
				if rss, ok := residentMemory(urls[name]); ok {
					mu.Lock()
					peaks[name] = max(peaks[name], rss)
					mu.Unlock()
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() map[string]uint64 {
		close(done)
		<-stopped
		mu.Lock()
		defer mu.Unlock()
		return peaks
	}
}

// residentMemory reads process_resident_memory_bytes from the service's /metrics.
func residentMemory(baseURL string) (uint64, bool) {
	resp, err := http.Get(baseURL + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if value, ok := strings.CutPrefix(sc.Text(), "process_resident_memory_bytes "); ok {
			f, err := strconv.ParseFloat(value, 64)
			return uint64(f), err == nil
		}
	}
	return 0, false
}
