package web

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/web/api"
)

func TestMessagesHaveTheSameKeysInEveryLanguage(t *testing.T) {
	en := slices.Sorted(maps.Keys(messages["en"]))
	for _, lang := range languages {
		assert.Equal(t, en, slices.Sorted(maps.Keys(messages[lang])), lang)
	}
}

// Every literal message key in the templates and the Go code is in the catalog.
func TestEveryKeyUsedIsInTheCatalog(t *testing.T) {
	keyUse := regexp.MustCompile(`(?:\.T|Title:|ErrorKey =) "([a-z_.]+)"|"(form\.[a-z_.]+)"|redirect\(w, r, [^,]+, "([a-z_]+)"\)|renderError\(w, r, [^,]+, "([a-z_.]+)"\)`)
	check := func(name string, text []byte) {
		for _, m := range keyUse.FindAllSubmatch(text, -1) {
			keys := []string{string(m[1]) + string(m[2])}
			switch {
			case len(m[3]) > 0:
				keys = []string{"flash." + string(m[3])}
			case len(m[4]) > 0: // an error page: its title and text
				keys = []string{string(m[4]) + ".title", string(m[4]) + ".text"}
			}
			for _, key := range keys {
				assert.True(t, hasMessage(key), "%s uses %q, which is not in the catalog", name, key)
			}
		}
	}
	require.NoError(t, fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		text, err := fs.ReadFile(templateFS, path)
		check(path, text)
		return err
	}))
	goFiles, err := fs.Glob(os.DirFS("."), "*.go")
	require.NoError(t, err)
	for _, f := range goFiles {
		text, err := os.ReadFile(f)
		require.NoError(t, err)
		check(f, text)
	}
	for _, status := range orderStatuses {
		assert.True(t, hasMessage("status."+status), status)
	}
}

func TestPreferredLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"":                           "en",
		"es":                         "es",
		"es-ES,es;q=0.9,en;q=0.8":    "es",
		"en-GB,en;q=0.9,es;q=0.8":    "en",
		"fr-FR,fr;q=0.9,es;q=0.5":    "es",
		"de, en;q=0.2, es;q=0.7":     "es",
		"ES-mx":                      "es",
		"fr":                         "en",
		";;;,q=,es;q=nonsense":       "es",
		"en;q=0.1, es;q=0.1, de;q=1": "en",
	} {
		assert.Equal(t, want, preferredLanguage(header), header)
	}
}

// Regression: a next parameter leaves the site only through its own path. Browsers drop tabs
// and line breaks from URLs and read a backslash as a slash, so what is left after removing
// every control character and whitespace must be a path of this site; anything else is "/".
func TestLocalPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/cart", "/cart"},
		{"/orders/1?x=2", "/orders/1?x=2"},
		{"/admin/users?page=2&q=ana#top", "/admin/users?page=2&q=ana#top"},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example"}, // one path segment of this site
		{"/a//b", "/a//b"},
		{"/cart\n", "/cart"},
		{" /cart ", "/cart"},
		{"", "/"},
		{"cart", "/"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"\t//evil.example", "/"},
		{"/ /evil.example", "/"},
		{"/\u00a0/evil.example", "/"},
		{"/\u3000/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"/\u0085/evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"\\/evil.example", "/"},
		{"/x\\y", "/"},
		{"https://evil.example/", "/"},
		{"http:/evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"java\tscript:alert(1)", "/"},
		{"mailto:x@evil.example", "/"},
		{"/" + strings.Repeat("a", maxNextPath), "/"},
	} {
		assert.Equal(t, tc.want, localPath(tc.in), "%q", tc.in)
	}
}

// catalogView is the catalog page of 24 articles, as a visitor sees it.
func catalogView(lang string) *view {
	articles := make([]api.Article, catalogPageSize)
	for i := range articles {
		articles[i] = api.Article{ID: fmt.Sprintf("%024x", i), Name: fmt.Sprintf("Article number %d", i),
			Description: "A good article.", Image: fmt.Sprintf("7c9e6679-7425-40de-944b-e07fc1f9%04d", i),
			Price: money.Cents(1250 + i), Stock: int64(i % 7), Enabled: true}
	}
	v := &view{lang: lang, CSRF: "csrf-token-of-the-visitor-0123456789abcdef", Path: "/",
		User: &tokens.User{ID: "u1", Name: "Ana", Permissions: []string{"user"}}, Title: "catalog.title"}
	v.Data = struct {
		Query    string
		Articles []api.Article
		Total    int64
		Pager    pager
	}{"", articles, 100, newPager(1, 100, catalogPageSize, func(p int) string { return fmt.Sprint("/?page=", p) })}
	return v
}

func TestCatalogPageRenders(t *testing.T) {
	p := mustParsePages(nil, nil)
	for _, lang := range languages {
		var buf bytes.Buffer
		require.NoError(t, p.execute(&buf, "catalog", catalogView(lang)))
		html := buf.String()
		assert.Contains(t, html, `<html lang="`+lang+`">`)
		assert.Equal(t, catalogPageSize, bytes.Count(buf.Bytes(), []byte(`<li class="card">`)))
		// The card's picture is decorative: the article's name is in the same link, right below.
		assert.Contains(t, html, `alt="" width="320"`)
		assert.Contains(t, html, `<span class="name">Article number 23</span>`)
		assert.Contains(t, html, `name="csrf" value="csrf-token-of-the-visitor-0123456789abcdef"`)
		assert.Less(t, buf.Len(), 100_000, "the page stays under 100 kB before images")
	}
}

// BenchmarkRenderCatalog is the template work of a catalog page of 24 articles (no services).
func BenchmarkRenderCatalog(b *testing.B) {
	p := mustParsePages(nil, nil)
	v := catalogView("es")
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := p.execute(&buf, "catalog", v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "page-bytes")
}

func TestListingCache(t *testing.T) {
	var calls atomic.Int32
	started, release := make(chan struct{}, 10), make(chan struct{})
	clock := testkit.NewClock(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	c := &listingCache{ttl: listingTTL, now: clock.Now, entries: map[string]listingEntry{},
		fetch: func(ctx context.Context, q string, page, size int) (api.ArticlePage, error) {
			calls.Add(1)
			started <- struct{}{}
			<-release
			return api.ArticlePage{Page: page, Total: int64(calls.Load())}, nil
		}}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			p, err := c.Articles(context.Background(), "lamp", 2, 24)
			assert.NoError(t, err)
			assert.Equal(t, 2, p.Page)
		})
	}
	<-started // one call is under way
	// It ends once all ten callers are inside singleflight (their stacks say so): a caller that
	// had missed the cache but reached singleflight only after the call ended would make its own.
	testkit.Eventually(t, 30*time.Second, func() bool {
		buf := make([]byte, 1<<20)
		return strings.Count(string(buf[:runtime.Stack(buf, true)]), "singleflight.(*Group).Do(") == 10
	}, "the ten callers never all waited on one call")
	close(release)
	wg.Wait()
	assert.Equal(t, int32(1), calls.Load(), "concurrent misses make one call")

	p, _ := c.Articles(context.Background(), "lamp", 2, 24)
	assert.Equal(t, int64(1), p.Total, "served from the cache")
	_, _ = c.Articles(context.Background(), "mug", 2, 24)
	assert.Equal(t, int32(2), calls.Load(), "another search is another entry")
	clock.Add(listingTTL - time.Millisecond)
	p, _ = c.Articles(context.Background(), "lamp", 2, 24)
	assert.Equal(t, int64(1), p.Total, "still fresh just before its time-to-live")
	clock.Add(time.Millisecond)
	p, _ = c.Articles(context.Background(), "lamp", 2, 24)
	assert.Equal(t, int64(3), p.Total, "fetched again once expired")
}

// The users page of the console: a search box keeping its text, one page of users whose forms
// come back to that page, and the pager, in every language.
func TestAdminUsersPageRenders(t *testing.T) {
	p := mustParsePages(nil, nil)
	users := []api.User{{ID: "6b14d3129fffec3222590153", Name: "Ana", Login: "ana-1", Permissions: []string{"user"}, Enabled: true},
		{ID: "u1", Name: "Root", Login: "root", Permissions: []string{"user", "admin"}, Enabled: true}}
	link := func(page int) string { return "/admin/users?" + usersBack("an a&b", page) }
	want := map[string][]string{
		"en": {"Search by login", "41 users", "Page 2 of 3"},
		"es": {"Buscar por usuario", "41 usuarios", "Página 2 de 3"},
	}
	for _, lang := range languages {
		v := &view{lang: lang, CSRF: "csrf", Path: "/admin/users", Title: "admin.users.title",
			User: &tokens.User{ID: "u1", Name: "Root", Permissions: []string{"user", "admin"}},
			Data: usersData{Query: "an a&b", Users: users, Total: 41, Pager: newPager(2, 41, adminPageSize, link), Permissions: knownPermissions}}
		var buf bytes.Buffer
		require.NoError(t, p.execute(&buf, "admin_users", v))
		html := buf.String()
		for _, text := range want[lang] {
			assert.Contains(t, html, text, lang)
		}
		assert.Contains(t, html, `name="q" type="search" value="an a&amp;b"`)
		assert.Contains(t, html, `href="/admin/users?page=1&amp;q=an&#43;a%26b" rel="prev"`)
		assert.Contains(t, html, `href="/admin/users?page=3&amp;q=an&#43;a%26b" rel="next"`)
		assert.Contains(t, html, `action="/admin/users/6b14d3129fffec3222590153/revoke?page=2&q=an%20a%26b"`, "a change comes back to this page")
		assert.Contains(t, html, `href="/admin/users/6b14d3129fffec3222590153/disable?page=2&q=an%20a%26b&login=ana-1"`,
			"disabling asks first, on a page of its own")
		assert.NotContains(t, html, `action="/admin/users/6b14d3129fffec3222590153/disable`, "no one-click disable")
		assert.Contains(t, html, `action="/admin/users/6b14d3129fffec3222590153/signout?page=2&q=an%20a%26b"`)
		// The admin's own row offers neither revoking its admin permission nor disabling itself.
		assert.NotContains(t, html, `/admin/users/u1/disable`)
		assert.NotContains(t, html, `/admin/users/u1/revoke?page=2&q=an%20a%26b" method="post" class="inline"><input type="hidden" name="csrf" value="csrf"><input type="hidden" name="permission" value="admin"`)
		assert.Contains(t, html, `/admin/users/u1/revoke?page=2&q=an%20a%26b" method="post" class="inline"><input type="hidden" name="csrf" value="csrf"><input type="hidden" name="permission" value="user"`,
			"its other permissions can be revoked")
	}
	v := &view{lang: "en", CSRF: "csrf", Title: "admin.users.title", User: &tokens.User{ID: "u1", Permissions: []string{"admin"}},
		Data: usersData{Query: "zz", Users: nil, Total: 0, Pager: newPager(1, 0, adminPageSize, link)}}
	var buf bytes.Buffer
	require.NoError(t, p.execute(&buf, "admin_users", v))
	assert.Contains(t, buf.String(), "No user matches.")
	assert.NotContains(t, buf.String(), `class="pager"`)
}

// TestAccountPagesRender renders "Your sessions", the confirm page and the deleted-articles list
// in every language.
func TestAccountPagesRender(t *testing.T) {
	p := mustParsePages(nil, nil)
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	sessions := []api.Session{
		{ID: "s2", Created: at, LastUsed: at, Client: "Laptop <b>", Address: "203.0.113.7", Current: true},
		{ID: "s1", Created: at, LastUsed: at, Client: "", Address: "2001:db8::1"},
	}
	want := map[string][]string{"en": {"Your sessions", "This device", "End every other session", "Unknown"},
		"es": {"Tus sesiones", "Este dispositivo", "Cerrar todas las demás sesiones", "Desconocido"}}
	for _, lang := range languages {
		v := &view{lang: lang, CSRF: "csrf", Title: "sessions.title", User: &tokens.User{ID: "u1", Name: "Ana"}, Data: sessions}
		var buf bytes.Buffer
		require.NoError(t, p.execute(&buf, "sessions", v))
		html := buf.String()
		for _, text := range want[lang] {
			assert.Contains(t, html, text, lang)
		}
		assert.Contains(t, html, "Laptop &lt;b&gt;", "the client is text")
		assert.Contains(t, html, `action="/account/sessions/s1/end"`)
		assert.NotContains(t, html, `action="/account/sessions/s2/end"`, "the current session ends by signing out")
		assert.Contains(t, html, `action="/account/sessions/others/end"`)

		v = &view{lang: lang, CSRF: "csrf", Title: "confirm.title", User: &tokens.User{ID: "u1"},
			Data: confirmData{Question: translate(lang, "confirm.article", "Desk"), Action: "/admin/articles/a1/disable",
				Button: "admin.disable", Back: "/admin/articles"}}
		buf.Reset()
		require.NoError(t, p.execute(&buf, "confirm", v))
		assert.Contains(t, buf.String(), `<form action="/admin/articles/a1/disable" method="post"><input type="hidden" name="csrf" value="csrf">`)
		assert.Contains(t, buf.String(), `href="/admin/articles"`)
		assert.Contains(t, buf.String(), "Desk")

		deleted := struct {
			Query    string
			Deleted  bool
			Articles []api.Article
			Pager    pager
		}{Deleted: true, Articles: []api.Article{{ID: "a1", Name: "Desk"}}, Pager: newPager(1, 1, adminPageSize, func(int) string { return "" })}
		v = &view{lang: lang, CSRF: "csrf", Title: "admin.articles.title", User: &tokens.User{ID: "u1"}, Data: deleted}
		buf.Reset()
		require.NoError(t, p.execute(&buf, "admin_articles", v))
		assert.Contains(t, buf.String(), `action="/admin/articles/a1/restore"`)
		assert.NotContains(t, buf.String(), `/admin/articles/a1/disable`)
	}
}

func TestUsersQuery(t *testing.T) {
	for raw, want := range map[string]string{
		"q=ana&page=2":                  "ana",
		"q=%20an%09a%00%20":             "ana",
		"q=%ff%fean":                    "an",
		"q=" + strings.Repeat("x", 150): strings.Repeat("x", maxUserSearch),
	} {
		r := httptest.NewRequest(http.MethodGet, "/admin/users?"+raw, nil)
		q, _, _ := usersQuery(r)
		assert.Equal(t, want, q, raw)
	}
}
