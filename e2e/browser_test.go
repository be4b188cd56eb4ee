package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/internal/benchkit"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// screen is a window size the stories run at.
type screen struct {
	name          string
	width, height int64
	lang          string // the story switches the shop to this language first
}

var screens = []screen{
	{name: "desktop", width: 1280, height: 900, lang: "en"},
	{name: "phone", width: 375, height: 812, lang: "es"},
}

// layoutWidths are the widths every page state is laid out at, checked and photographed: a
// small and a common phone, a tablet, a laptop.
var layoutWidths = []int64{320, 375, 768, 1280}

// longWord is a 66-letter word for an article name: no page may grow wider than the screen for it.
const longWord = "Leselampenrindfleischetikettierungsüberwachungsaufgabenübertragung"

// longName is a shopper's name longer than a phone's menu line.
const longName = "María de los Ángeles Fernández-Villaverde y Castellanos"

// browserStories runs the shopper's and the admin's stories in headless Chromium at each screen
// size. At every page state it runs axe-core (no violation allowed), then lays the page out at
// each of layoutWidths, checks nothing overflows, and keeps a screenshot (in
// e2e/testdata/screens, or WEB_SCREENSHOTS). The shop gets an article with a long word in its
// name and a price in the millions first.
func browserStories(t *testing.T, s *webShop) {
	waitForInstall(t, "CHROMIUM_INSTALL_PID")
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("TEST_REQUIRE_SERVERS") == "1" {
			t.Fatalf("chromium is required (apt-get install chromium; scripts/ensure-servers.sh does it): %v", err)
		}
		t.Skip("chromium is not installed; set TEST_REQUIRE_SERVERS=1 to fail instead")
	}
	axe := axeSource(t)
	require.Equal(t, 66, utf8.RuneCountInString(longWord))
	admin := newClient(t, s.urls).as(s.adminToken)
	var img struct{ ID string }
	admin.must(http.MethodPost, "image", "/images/create", map[string]string{"image": benchkit.Picture(5, 400, 300)}, &img)
	var long article
	admin.must(http.MethodPost, "catalog", "/articles", map[string]any{
		"name": "Lamp " + longWord, "description": "A lamp with a name to test the layout: " + longWord + ".",
		"image": img.ID, "price": 1234567.89, "stock": 4,
	}, &long)
	for _, sc := range screens {
		t.Run("shopper "+sc.name, func(t *testing.T) { shopperStory(t, s, newBrowser(t, chromium, sc, axe), long) })
		t.Run("admin "+sc.name, func(t *testing.T) { adminStory(t, s, newBrowser(t, chromium, sc, axe)) })
	}
}

// waitForInstall waits while the process whose pid is in the variable pidVar runs: on a new
// machine make test installs Chromium beside the first tests, which need it only at their end.
func waitForInstall(t *testing.T, pidVar string) {
	pid, err := strconv.Atoi(os.Getenv(pidVar))
	if err != nil {
		return
	}
	testkit.Eventually(t, 15*time.Minute, func() bool { return syscall.Kill(pid, 0) != nil },
		"the install (pid %d) did not end", pid)
}

// axeSource is axe-core's script, from the npm package that scripts/ensure-servers.sh installs in
// .tools (or AXE_CORE_JS): read from disk, injected into each page, never fetched from the web.
func axeSource(t *testing.T) string {
	path := os.Getenv("AXE_CORE_JS")
	if path == "" {
		path = filepath.Join("..", ".tools", "node_modules", "axe-core", "axe.min.js")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("TEST_REQUIRE_SERVERS") == "1" {
			t.Fatalf("axe-core is required (scripts/ensure-servers.sh installs it with npm in .tools): %v", err)
		}
		t.Skip("axe-core is not installed (scripts/ensure-servers.sh); set TEST_REQUIRE_SERVERS=1 to fail instead")
	}
	return string(src)
}

// browser is one Chromium with a fresh profile, at one screen size.
type browser struct {
	t      *testing.T
	ctx    context.Context
	screen screen
	axe    string // axe-core's script
	shots  int
}

func newBrowser(t *testing.T, path string, sc screen, axe string) *browser {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	b := &browser{t: t, ctx: ctx, screen: sc, axe: axe}
	b.do(chromedp.EmulateViewport(sc.width, sc.height))
	return b
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, steps...))
}

func (b *browser) eval(expr string) bool {
	b.t.Helper()
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
	require.NoError(b.t, err, expr)
	return ok
}

// has tells whether an element matches the CSS selector now.
func (b *browser) has(css string) bool {
	b.t.Helper()
	return b.eval(`document.querySelector(` + jsString(css) + `) !== null`)
}

// waitFor waits until an element matches the CSS selector.
func (b *browser) waitFor(css string) {
	b.t.Helper()
	b.until(`document.querySelector(`+jsString(css)+`) !== null`, "waiting for "+css)
}

// until evaluates the expression until it is true. Errors count as false: while a new page
// loads, the old page's script context disappears under the evaluation.
func (b *browser) until(expr, what string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) || b.ctx.Err() != nil {
			b.t.Fatalf("%s: not true within 30s: %s (last error: %v)", what, expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// open goes to a path of the shop.
func (b *browser) open(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url))
}

// follow clicks the element (a link or a submit button) and waits for the next page to load.
func (b *browser) follow(css string) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](`window.__oldPage = true`),
		chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
	b.until(`!window.__oldPage && document.readyState === "complete"`, "page after clicking "+css)
}

// fill types text into the input, replacing what it held.
func (b *browser) fill(css, text string) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(css)+`).value = ""`),
		chromedp.SendKeys(chromedp.CSS(css), text))
}

func (b *browser) text(css string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(css), chromedp.NodeVisible))
	require.NoError(b.t, err, css)
	return strings.TrimSpace(s)
}

func (b *browser) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname`))
	require.NoError(b.t, err)
	return loc
}

// shot checks the page state: labels and alt texts, then axe-core at the story's width, then
// at each of layoutWidths the layout (layoutProblems) and a screenshot, kept as a test artefact.
func (b *browser) shot(story, step string) {
	b.t.Helper()
	assert.True(b.t, b.eval(`Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea")).every(e => e.labels.length > 0)`),
		"%s: every input has a label", step)
	assert.True(b.t, b.eval(`Array.from(document.images).every(i => i.hasAttribute("alt"))`), "%s: every picture has an alt text", step)
	// Pictures load after the page, lazy ones only when scrolled to: load them all and give them
	// a moment (best effort, a shot is not a check).
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("img[loading=lazy]").forEach(i => i.loading = "eager")`))
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if done, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`Array.from(document.images).every(i => i.complete)`)); err == nil && done {
			break
		}
	}
	b.checkAxe(step)

	dir := os.Getenv("WEB_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screens")
	}
	require.NoError(b.t, os.MkdirAll(dir, 0o755))
	b.shots++
	for _, width := range layoutWidths {
		b.do(chromedp.EmulateViewport(width, b.screen.height))
		problems, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](layoutProblems))
		require.NoError(b.t, err)
		assert.Empty(b.t, problems, "%s at %d px: layout problems", step, width)
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		require.NoError(b.t, err)
		name := fmt.Sprintf("%s-%s-%02d-%s-%d.png", story, b.screen.name, b.shots, step, width)
		require.NoError(b.t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
	}
	b.do(chromedp.EmulateViewport(b.screen.width, b.screen.height))
}

// layoutProblems lists what a designer would send back about the page at the current width:
// anything wider than the screen, text sticking out of its box, a table cell shorter than its
// row or narrower than its stacked row, "Sign out" on another line than the user's name, and
// "Remove" on another line than "Update" in the cart.
const layoutProblems = `(() => {
  const out = [];
  const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "");
  if (document.documentElement.scrollWidth > window.innerWidth) {
    out.push("page " + document.documentElement.scrollWidth + " px wide in a " + window.innerWidth + " px window");
  }
  for (const e of document.body.querySelectorAll("*")) {
    if (e.closest(".sr, script, style, select, input, textarea, svg") || e.clientWidth === 0) continue;
    const st = getComputedStyle(e);
    // A box that scrolls, or cuts its text short with an ellipsis on purpose, is not a problem.
    if (st.display === "none" || st.overflowX === "auto" || st.overflowX === "scroll" || st.textOverflow === "ellipsis") continue;
    if (e.scrollWidth > e.clientWidth + 1) out.push(name(e) + " holds " + e.scrollWidth + " px in " + e.clientWidth + " px");
  }
  for (const tr of document.querySelectorAll("tr")) {
    const row = tr.getBoundingClientRect();
    const display = getComputedStyle(tr).display, stacked = display === "block";
    for (const td of tr.children) {
      const cell = td.getBoundingClientRect();
      if (display === "table-row" && (Math.abs(cell.top - row.top) > 1 || Math.abs(cell.bottom - row.bottom) > 1)) {
        out.push(name(td) + " does not fill its row");
      }
      if (stacked && cell.width < row.width - 2) out.push(name(td) + " is narrower than its stacked row");
    }
  }
  for (const table of document.querySelectorAll("table.stack")) {
    const box = table.parentElement, tr = table.querySelector("tbody tr");
    if (tr && getComputedStyle(tr).display === "block" && box.scrollWidth > box.clientWidth + 1) {
      out.push("a stacked table scrolls sideways: " + box.scrollWidth + " px in " + box.clientWidth + " px");
    }
  }
  const middle = e => { const r = e.getBoundingClientRect(); return (r.top + r.bottom) / 2; };
  const sameLine = (a, b) => a && b && Math.abs(middle(a) - middle(b)) < 8;
  const who = document.querySelector(".menu a[href='/account/password']");
  const signout = document.querySelector(".menu form[action='/signout'] button");
  if (who && signout && !sameLine(who, signout)) out.push("sign-out is not on the line of the user's name");
  for (const form of document.querySelectorAll(".line form.qty")) {
    const update = form.querySelector("button[value=set]"), remove = form.querySelector("button[value=remove]");
    if (update && remove && !sameLine(update, remove)) out.push("remove is not on the line of update in " + form.getAttribute("action"));
  }
  return out;
})()`

// checkAxe runs axe-core on the page (injected once per page) and fails the test on any
// violation, printing each with the elements it found.
func (b *browser) checkAxe(step string) {
	b.t.Helper()
	if !b.eval(`typeof window.axe === "object"`) {
		b.do(chromedp.Evaluate[chromedp.Void](b.axe))
	}
	type violation struct {
		ID, Impact, Help string
		Nodes            []string
	}
	found, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]violation](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
		r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
			nodes: v.nodes.map(n => n.target.join(" ") + " — " + (n.failureSummary || "").replace(/\s+/g, " "))})))`, chromedp.EvalAwaitPromise))
	require.NoError(b.t, err)
	for _, v := range found {
		b.t.Errorf("%s at %d px: axe %s (%s): %s\n\t%s", step, b.screen.width, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
}

// cookie returns the browser's cookie for the shop (HttpOnly ones included, through DevTools).
func (b *browser) cookie(name string) string {
	b.t.Helper()
	var value string
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{})
		for _, c := range res.Cookies {
			if c.Name == name {
				value = c.Value
			}
		}
		return err
	}))
	return value
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// switchLanguage picks the screen's language with the switch in the page header.
func (b *browser) switchLanguage() {
	b.t.Helper()
	if b.has(`html[lang="` + b.screen.lang + `"]`) {
		return
	}
	b.follow(`.lang a[hreflang="` + b.screen.lang + `"]`)
	require.True(b.t, b.has(`html[lang="`+b.screen.lang+`"]`))
}

// shopperStory: sign up (with a long name), search, open an article, add two, add the article
// with a long name and a price in the millions, change the quantity, check the cart, check out,
// see the order become validated without reloading, pay, see the orders, sign out.
func shopperStory(t *testing.T, s *webShop, b *browser, long article) {
	base := s.urls["web"]
	lamp := s.articles[0]
	b.open(base + "/")
	b.switchLanguage()
	b.shot("shopper", "catalog")

	b.follow(`.menu a[href="/signup"]`)
	b.fill("#f-name", longName)
	b.fill("#f-login", "ab") // too short: auth says so, next to the field
	b.fill("#f-password", "correct horse battery")
	b.follow(`form[action="/signup"] button[type=submit]`)
	require.True(t, b.has(`#f-login[aria-invalid="true"][aria-describedby="e-login"] + p#e-login.field-error`), "the field error next to its input")
	require.True(t, b.has(".error-summary"), "the summary above the form")
	assert.True(t, b.eval(`document.getElementById("f-name").value === `+jsString(longName)), "what was typed is kept")
	b.shot("shopper", "signup-error")
	login := "shopper-" + b.screen.name + "-" + testkit.Name("b")
	b.fill("#f-login", login)
	b.fill("#f-password", "correct horse battery")
	b.follow(`form[action="/signup"] button[type=submit]`)
	require.True(t, b.has(".notice"), "welcome notice")
	require.False(t, b.eval(`document.cookie.includes("session=")`), "the token is out of the scripts' reach")

	b.fill("#q", "lamp")
	b.follow("form.search button")
	require.True(t, b.has(`.card a[href="/articles/`+lamp.ID+`"]`))
	require.True(t, b.has(`.card a[href="/articles/`+long.ID+`"]`))
	require.False(t, b.has(`.card a[href="/articles/`+s.articles[1].ID+`"]`))
	b.shot("shopper", "search")

	b.follow(`.card a[href="/articles/` + lamp.ID + `"]`)
	assert.Equal(t, lamp.Name, b.text("h1"))
	// A form without its CSRF token (as a forged one from another site would be) is refused.
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("form.add input[name=csrf]").remove()`))
	b.follow("form.add button")
	require.True(t, b.has(".error-page"), "refused")
	b.shot("shopper", "csrf-refused")
	b.open(base + "/articles/" + lamp.ID)
	b.fill("#quantity", "2")
	b.shot("shopper", "article")
	b.follow("form.add button")
	require.Equal(t, "/cart", b.path())
	assert.True(t, b.eval(`document.getElementById("qty-`+lamp.ID+`").value === "2"`))
	b.open(base + "/articles/" + long.ID)
	b.shot("shopper", "long-article")
	b.follow("form.add button")
	require.Equal(t, "/cart", b.path())

	b.fill("#qty-"+lamp.ID, "3")
	b.follow(`#line-` + lamp.ID + ` button[value="set"]`)
	assert.True(t, b.eval(`document.getElementById("qty-`+lamp.ID+`").value === "3"`))
	b.follow(`a[href="/cart?check=1"]`)
	require.True(t, b.has(".totals .ok"), "the check finds everything available")
	b.shot("shopper", "cart")

	// Hold catalog's reservation, so the order stays `placed` until the page is watching.
	s.gate.hold()
	released := false
	defer func() {
		if !released {
			s.gate.release()
		}
	}()
	b.follow(`form[action="/cart/checkout"] button`)
	require.Regexp(t, `^/orders/[0-9a-f]{24}$`, b.path())
	require.True(t, b.has(`#order-live[data-poll] .s-placed`), "the order is placed and the page polls")
	b.shot("shopper", "order-placed")
	b.do(chromedp.Evaluate[chromedp.Void](`window.__samePage = true`))
	s.gate.release()
	released = true
	b.waitFor("#order-live .s-validated")
	assert.True(t, b.eval(`window.__samePage === true`), "the status changed without a reload")
	assert.False(t, b.has("#order-live[data-poll]"), "polling stops once the status is settled")
	b.shot("shopper", "order-validated")

	b.follow(`form.pay button[type=submit]`)
	require.True(t, b.has("#order-live .s-payment_defined"), "paid")
	b.shot("shopper", "paid")
	b.follow(`.menu a[href="/orders"]`)
	b.shot("shopper", "orders")

	token := b.cookie("session")
	require.NotEmpty(t, token)
	b.follow(`form[action="/signout"] button`)
	require.True(t, b.has(`.menu a[href="/signin"]`))
	assert.Empty(t, b.cookie("session"))
	// The old session is dead everywhere: at auth, and in the shop with the old cookie.
	assert.Equal(t, http.StatusUnauthorized, newClient(t, s.urls).as(token).call(http.MethodGet, "auth", "/users/current", nil, nil))
	stale := newVisitor(t, base)
	stale.http.Jar.SetCookies(mustURL(t, base), []*http.Cookie{{Name: "session", Value: token}})
	p := stale.get("/cart")
	assert.Equal(t, "/signin", p.url.Path)
}

// adminStory: upload a picture and create an article, change its price and stock, grant and
// revoke a permission, disable a user whose open session then fails.
func adminStory(t *testing.T, s *webShop, b *browser) {
	base := s.urls["web"]
	b.open(base + "/signin")
	b.switchLanguage()
	b.shot("admin", "signin")
	// With the keyboard only: type, Tab to the next field (focus visible), Enter to send.
	b.do(chromedp.Focus(chromedp.CSS("#f-login")), chromedp.SendKeys(chromedp.CSS("#f-login"), adminLogin+"\t"))
	require.True(t, b.eval(`document.activeElement.id === "f-password"`), "Tab moves to the password")
	require.True(t, b.eval(`getComputedStyle(document.activeElement).boxShadow !== "none"`), "the focus is visible")
	b.do(chromedp.Evaluate[chromedp.Void](`window.__oldPage = true`),
		chromedp.SendKeys(chromedp.CSS("#f-password"), adminPassword+"\r"))
	b.until(`!window.__oldPage && document.readyState === "complete"`, "page after Enter")
	require.True(t, b.has(`.menu a[href="/admin/articles"]`), "admins see the admin link")

	b.follow(`.menu a[href="/admin/articles"]`)
	b.shot("admin", "articles")
	b.follow(`a[href="/admin/articles/new"]`)
	picture := filepath.Join(t.TempDir(), "picture.png")
	data := pngDataURL(t, 480, 360)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(data, "data:image/png;base64,"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(picture, raw, 0o644))
	name := "Desk fan " + b.screen.name
	b.fill("#f-name", name)
	b.fill("#f-description", "Quiet, three speeds.")
	typed := func(en, es string) string { // an amount as a person types it in the page's language
		if b.screen.lang == "es" {
			return es
		}
		return en
	}
	b.fill("#f-price", typed("19.90", "19,90"))
	b.fill("#f-stock", "7")
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#f-picture"), []string{picture}))
	b.shot("admin", "new-article")
	b.follow(`.article-form button[type=submit]`)
	require.Regexp(t, `^/admin/articles/[0-9a-f]{24}$`, b.path())
	require.True(t, b.has(".notice"), "saved")
	require.True(t, b.has("img.current"), "the uploaded picture is shown")
	id := strings.TrimPrefix(b.path(), "/admin/articles/")

	b.fill("#f-price", typed("17.50", "17,50"))
	b.fill("#f-stock", "12")
	b.follow(`.article-form button[type=submit]`)
	b.shot("admin", "edited-article")
	api := newClient(t, s.urls)
	var a article
	api.must(http.MethodGet, "catalog", "/articles/"+id, nil, &a)
	assert.Equal(t, name, a.Name)
	assert.Equal(t, 17.5, a.Price)
	assert.Equal(t, 12, a.Stock)
	assert.NotEmpty(t, a.Image)

	// A shopper with an open session in the shop.
	shopper := newVisitor(t, base)
	login := shopper.signUp("Mateo")
	token := shopper.cookie("session")
	var me struct {
		ID          string
		Permissions []string
	}
	api.as(token).must(http.MethodGet, "auth", "/users/current", nil, &me)

	b.open(base + "/admin/users")
	grant := `form[action^="/admin/users/` + me.ID + `/grant"]:has(input[value="admin"]) button`
	revoke := `form[action^="/admin/users/` + me.ID + `/revoke"]:has(input[value="admin"]) button`
	b.follow(grant)
	api.as(token).must(http.MethodGet, "auth", "/users/current", nil, &me)
	assert.Contains(t, me.Permissions, "admin")
	require.True(t, b.has(revoke), "the admin chip is on")
	b.shot("admin", "granted")
	b.follow(revoke)
	api.as(token).must(http.MethodGet, "auth", "/users/current", nil, &me)
	assert.NotContains(t, me.Permissions, "admin")

	b.follow(`a[href^="/admin/users/` + me.ID + `/disable"]`) // asks first
	b.shot("admin", "confirm-disable")
	b.follow(`form[action^="/admin/users/` + me.ID + `/disable"] button`)
	require.True(t, b.has(`form[action^="/admin/users/`+me.ID+`/enable"]`), "shown disabled")
	b.shot("admin", "disabled-user")
	var p page
	eventually(t, 10*time.Second, "the disabled user's session ends", func() bool {
		p = shopper.get("/cart")
		return p.url.Path == "/signin"
	})
	assert.Contains(t, p.body, "Your session has ended")
	assert.Equal(t, http.StatusUnauthorized, api.as(token).call(http.MethodGet, "auth", "/users/current", nil, nil), login)

	b.open(base + "/admin/orders")
	b.shot("admin", "orders")
	b.follow(`.filter button`)
	assert.True(t, b.has("select#status"))
}
