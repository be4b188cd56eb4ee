package catalog

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/money"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// errorBody is the SPEC §2 error body.
type errorBody struct {
	Error    string              `json:"error"`
	Messages []errs.FieldProblem `json:"messages"`
}

func TestCreateArticle(t *testing.T) {
	api := newTestAPI(t)

	status, body := api.do("POST", "/articles", adminToken,
		`{"_id":"ignored","name":"  Lamp ","description":"A desk lamp","image":"0B8F5C1E-6F0A-4C5E-9A57-3D2B1C0E9F42","price":12.5,"stock":3}`)
	require.Equal(t, http.StatusOK, status, body)
	a := decode[Article](t, body)
	assert.Len(t, a.ID, 24)
	assert.Equal(t, Article{ID: a.ID, Name: "Lamp", Description: "A desk lamp", Image: "0b8f5c1e-6f0a-4c5e-9a57-3d2b1c0e9f42",
		Price: 1250, Stock: 3, Enabled: true}, a)
	assert.JSONEq(t, fmt.Sprintf(`{"_id":%q,"name":"Lamp","description":"A desk lamp","image":"0b8f5c1e-6f0a-4c5e-9a57-3d2b1c0e9f42",
		"price":12.5,"stock":3,"enabled":true}`, a.ID), body)

	// Stock may be left out: it starts at 0.
	status, body = api.do("POST", "/articles", adminToken, `{"name":"Pen","price":0.99}`)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, int64(0), decode[Article](t, body).Stock)
	assert.Equal(t, money.Cents(99), decode[Article](t, body).Price)

	status, body = api.do("GET", "/articles/"+a.ID, "", "")
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, a, decode[Article](t, body))
}

func TestCreateArticleRejectsBadInput(t *testing.T) {
	api := newTestAPI(t)
	tests := []struct {
		name    string
		token   string
		body    string
		status  int
		problem map[string]string // field → "message (rule)"; nil when no field messages are expected
	}{
		{"no token", "", `{"name":"A","price":1}`, http.StatusUnauthorized, nil},
		{"unknown token", "nope", `{"name":"A","price":1}`, http.StatusUnauthorized, nil},
		{"user token", userToken, `{"name":"A","price":1}`, http.StatusForbidden, nil},
		{"malformed JSON", adminToken, `{"name":`, http.StatusBadRequest, nil},
		{"empty body", adminToken, ``, http.StatusBadRequest, nil},
		{"not an object", adminToken, `[1]`, http.StatusBadRequest, nil},
		{"missing fields", adminToken, `{}`, http.StatusBadRequest,
			map[string]string{"name": "is required (required)", "price": "is required (required)"}},
		{"blank name", adminToken, `{"name":"   ","price":1}`, http.StatusBadRequest,
			map[string]string{"name": "must not be empty (not_empty)"}},
		{"long name", adminToken, fmt.Sprintf(`{"name":"%0101d","price":1}`, 0), http.StatusBadRequest,
			map[string]string{"name": "must be at most 100 characters (max_chars)"}},
		{"long description", adminToken, fmt.Sprintf(`{"name":"A","description":"%02049d","price":1}`, 0),
			http.StatusBadRequest, map[string]string{"description": "must be at most 2048 characters (max_chars)"}},
		{"negative price", adminToken, `{"name":"A","price":-1}`, http.StatusBadRequest,
			map[string]string{"price": "must be at least 0 (min)"}},
		{"price with 3 decimals", adminToken, `{"name":"A","price":1.005}`, http.StatusBadRequest,
			map[string]string{"price": "must have at most 2 decimals (decimals)"}},
		{"price as string", adminToken, `{"name":"A","price":"1"}`, http.StatusBadRequest,
			map[string]string{"price": "must be a number (type)"}},
		{"huge price", adminToken, `{"name":"A","price":1e25}`, http.StatusBadRequest,
			map[string]string{"price": "must be at most 100000000 (max_amount)"}},
		{"absurd exponent", adminToken, `{"name":"A","price":1e999999999}`, http.StatusBadRequest,
			map[string]string{"price": "is out of range (out_of_range)"}},
		{"negative stock", adminToken, `{"name":"A","price":1,"stock":-1}`, http.StatusBadRequest,
			map[string]string{"stock": "must be at least 0 (min)"}},
		{"fractional stock", adminToken, `{"name":"A","price":1,"stock":1.5}`, http.StatusBadRequest,
			map[string]string{"stock": "must be a whole number (whole_number)"}},
		{"stock as bool", adminToken, `{"name":"A","price":1,"stock":true}`, http.StatusBadRequest,
			map[string]string{"stock": "must be a number (type)"}},
		{"name as number", adminToken, `{"name":5,"price":1}`, http.StatusBadRequest,
			map[string]string{"name": "must be a string (type)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := api.do("POST", "/articles", tt.token, tt.body)
			require.Equal(t, tt.status, status, body)
			e := decode[errorBody](t, body)
			assert.NotEmpty(t, e.Error)
			if tt.problem != nil {
				got := map[string]string{}
				for _, p := range e.Messages {
					got[p.Path] = p.Message + " (" + p.Code.String() + ")"
				}
				assert.Equal(t, tt.problem, got, body)
			}
		})
	}
	// Nothing was created by any of them.
	status, body := api.do("GET", "/articles", "", "")
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"items":[],"page":1,"size":20,"total":0}`, body)
}

func TestGetArticle(t *testing.T) {
	api := newTestAPI(t)
	a := api.create("Lamp", "", "10", 1)

	tests := []struct {
		name   string
		path   string
		status int
	}{
		{"existing", "/articles/" + a.ID, http.StatusOK},
		{"malformed id", "/articles/xyz", http.StatusBadRequest},
		{"unknown id", "/articles/0123456789abcdef01234567", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := api.do("GET", tt.path, "", "")
			require.Equal(t, tt.status, status, body)
			if status != http.StatusOK {
				assert.NotEmpty(t, decode[errorBody](t, body).Error)
			}
		})
	}
}

func TestUpdateArticle(t *testing.T) {
	api := newTestAPI(t)
	a := api.create("Lamp", "Desk lamp", "10", 5)

	// Only the fields sent change; the course's client sends _id too.
	status, body := api.do("POST", "/articles/"+a.ID, adminToken, fmt.Sprintf(`{"_id":%q,"price":7.25}`, a.ID))
	require.Equal(t, http.StatusOK, status, body)
	want := a
	want.Price = 725
	assert.Equal(t, want, decode[Article](t, body))

	status, body = api.do("POST", "/articles/"+a.ID, adminToken, `{"name":"Big lamp","description":"","image":"7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6","stock":2}`)
	require.Equal(t, http.StatusOK, status, body)
	want.Name, want.Description, want.Image, want.Stock = "Big lamp", "", "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6", 2
	assert.Equal(t, want, decode[Article](t, body))

	tests := []struct {
		name   string
		path   string
		token  string
		body   string
		status int
		field  string
	}{
		{"no token", "/articles/" + a.ID, "", `{"price":1}`, http.StatusUnauthorized, ""},
		{"user token", "/articles/" + a.ID, userToken, `{"price":1}`, http.StatusForbidden, ""},
		{"malformed id", "/articles/nope", adminToken, `{"price":1}`, http.StatusBadRequest, ""},
		{"unknown id", "/articles/0123456789abcdef01234567", adminToken, `{"price":1}`, http.StatusNotFound, ""},
		{"bad price", "/articles/" + a.ID, adminToken, `{"name":"New","price":-3}`, http.StatusBadRequest, "price"},
		{"empty name", "/articles/" + a.ID, adminToken, `{"name":"","stock":9}`, http.StatusBadRequest, "name"},
		{"bad stock", "/articles/" + a.ID, adminToken, `{"stock":-9}`, http.StatusBadRequest, "stock"},
		{"malformed JSON", "/articles/" + a.ID, adminToken, `{"stock":`, http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := api.do("POST", tt.path, tt.token, tt.body)
			require.Equal(t, tt.status, status, body)
			e := decode[errorBody](t, body)
			assert.NotEmpty(t, e.Error)
			if tt.field != "" {
				require.Len(t, e.Messages, 1, body)
				assert.Equal(t, tt.field, e.Messages[0].Path)
			}
		})
	}
	// None of the refused updates changed anything.
	status, body = api.do("GET", "/articles/"+a.ID, "", "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, want, decode[Article](t, body))
}

func TestDeleteArticle(t *testing.T) {
	api := newTestAPI(t)
	a := api.create("Lamp", "", "10", 5)
	api.create("Lamp shade", "", "3", 1)

	for _, tt := range []struct {
		name, path, token string
		status            int
	}{
		{"no token", "/articles/" + a.ID, "", http.StatusUnauthorized},
		{"user token", "/articles/" + a.ID, userToken, http.StatusForbidden},
		{"malformed id", "/articles/12", adminToken, http.StatusBadRequest},
		{"unknown id", "/articles/0123456789abcdef01234567", adminToken, http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := api.do("DELETE", tt.path, tt.token, "")
			require.Equal(t, tt.status, status, body)
		})
	}
	status, body := api.do("GET", "/articles/"+a.ID, "", "")
	require.Equal(t, http.StatusOK, status)
	require.True(t, decode[Article](t, body).Enabled, "refused deletes changed nothing")

	for range 2 { // deleting twice is fine
		status, body = api.do("DELETE", "/articles/"+a.ID, adminToken, "")
		require.Equal(t, http.StatusOK, status, body)
		assert.Empty(t, body)
	}

	// Still readable by id, with enabled:false; gone from search and listing.
	status, body = api.do("GET", "/articles/"+a.ID, "", "")
	require.Equal(t, http.StatusOK, status)
	got := decode[Article](t, body)
	assert.False(t, got.Enabled)
	assert.Equal(t, int64(5), got.Stock)

	_, body = api.do("GET", "/articles/search/lamp", "", "")
	assert.Equal(t, []string{"Lamp shade"}, names(decode[[]Article](t, body)))
	_, body = api.do("GET", "/articles", "", "")
	assert.Equal(t, []string{"Lamp shade"}, names(decode[listPage](t, body).Items))
}

type listPage struct {
	Items []Article `json:"items"`
	Page  int       `json:"page"`
	Size  int       `json:"size"`
	Total int64     `json:"total"`
}

func names(items []Article) []string {
	out := []string{}
	for _, a := range items {
		out = append(out, a.Name)
	}
	return out
}

func TestSearchArticles(t *testing.T) {
	api := newTestAPI(t)
	api.create("Red Lamp", "bright light", "10", 1)
	api.create("Blue lamp", "soft LIGHT (dimmable)", "10", 1)
	api.create("Chair", "a red chair, 100% oak", "10", 1)
	api.create("Table.*", "literal pattern chars", "10", 1)
	api.create("Canción de cuna", "música suave", "10", 1)
	api.create("Bench", "reading LAMP included", "10", 1)
	gone := api.create("Red lamp old", "", "10", 1)
	status, _ := api.do("DELETE", "/articles/"+gone.ID, adminToken, "")
	require.Equal(t, http.StatusOK, status)

	tests := []struct {
		criteria string
		want     []string
	}{
		{"lamp", []string{"Blue lamp", "Red Lamp", "Bench"}}, // case-insensitive, enabled only, names first, by name
		{"RED", []string{"Red Lamp", "Chair"}},               // name or description, names first
		{"cancion MUSICA", []string{"Canción de cuna"}},      // accents ignored
		{"Músi", []string{"Canción de cuna"}},
		{"red light", []string{"Red Lamp"}}, // every word must match
		{"  light   lamp ", []string{"Blue lamp", "Red Lamp"}},
		{"(dimmable)", []string{"Blue lamp"}}, // plain text, not a regex group
		{".*", []string{"Table.*"}},           // not a wildcard
		{"100%", []string{"Chair"}},
		{"^Red", []string{}}, // anchors are plain text
		{"sofa", []string{}},
		{`{"$ne":null}`, []string{}}, // no operator injection
	}
	for _, tt := range tests {
		t.Run(tt.criteria, func(t *testing.T) {
			status, body := api.do("GET", "/articles/search/"+url.PathEscape(tt.criteria), "", "")
			require.Equal(t, http.StatusOK, status, body)
			assert.Equal(t, tt.want, names(decode[[]Article](t, body)), body)
		})
	}

	t.Run("bad criteria", func(t *testing.T) {
		for _, path := range []string{"/articles/search/%20%20", "/articles/search/" + url.PathEscape(fmt.Sprintf("%0201d", 0)),
			"/articles/search/a%20b%20c%20d%20e%20f%20g%20h%20i%20j%20k",
			"/articles/search/%00", "/articles/search/lamp%00x", // NUL cannot go into a regex (was 500)
			"/articles/search/%1B", "/articles/search/%FF", "/articles/search/%C3%28"} { // control, invalid UTF-8
			status, body := api.do("GET", path, "", "")
			assert.Equal(t, http.StatusBadRequest, status, path+" "+body)
		}
	})
}

func TestListArticles(t *testing.T) {
	api := newTestAPI(t)
	for _, n := range []string{"E", "C", "A", "D", "B"} {
		api.create(n, "item "+n, "1", 1)
	}
	api.create("Lamp", "", "1", 1)

	status, body := api.do("GET", "/articles?page=2&size=2", "", "")
	require.Equal(t, http.StatusOK, status, body)
	p := decode[listPage](t, body)
	assert.Equal(t, []string{"C", "D"}, names(p.Items))
	assert.Equal(t, 2, p.Page)
	assert.Equal(t, 2, p.Size)
	assert.Equal(t, int64(6), p.Total)

	status, body = api.do("GET", "/articles?q=ITEM&page=3&size=2", "", "")
	require.Equal(t, http.StatusOK, status, body)
	p = decode[listPage](t, body)
	assert.Equal(t, []string{"E"}, names(p.Items))
	assert.Equal(t, int64(5), p.Total)

	status, body = api.do("GET", "/articles?page=9", "", "")
	require.Equal(t, http.StatusOK, status, body)
	assert.Empty(t, decode[listPage](t, body).Items)

	status, body = api.do("GET", "/articles?size=100", "", "")
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, 100, decode[listPage](t, body).Size, "the largest page")

	// The paging rule of every service: out of range is 400, never silently changed.
	for _, q := range []string{"page=0", "page=x", "size=0", "size=-5", "size=101", "size=1000", "page=1.5", "q=%00", "q=lamp%00", "q=%FF"} {
		status, body := api.do("GET", "/articles?"+q, "", "")
		assert.Equal(t, http.StatusBadRequest, status, q)
		e := decode[errorBody](t, body)
		assert.Len(t, e.Messages, 1, body)
	}
}

// Regression (issue 14, findings 5 and 10): an article's text holds no NUL or broken UTF-8, and
// its image is an image id or nothing; each refusal is a 400 naming the field, and changes nothing.
func TestArticleTextAndImageAreChecked(t *testing.T) {
	api := newTestAPI(t)
	a := api.create("Mug", "A mug", "3.5", 1)
	tests := []struct {
		name, body, field string
	}{
		{"NUL in the name", `{"name":"Mug\u0000<script>","price":1}`, "name"},
		{"NUL in the description", `{"name":"Mug","description":"a\u0000b","price":1}`, "description"},
		{"broken UTF-8 in the name", "{\"name\":\"Mug \xff\",\"price\":1}", "name"},
		{"image not an id", `{"name":"Mug","image":"javascript:alert(1)","price":1}`, "image"},
		{"image a path", `{"name":"Mug","image":"../../etc/passwd","price":1}`, "image"},
		{"image a UUID with more", `{"name":"Mug","image":"0b8f5c1e-6f0a-4c5e-9a57-3d2b1c0e9f42x","price":1}`, "image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/articles", "/articles/" + a.ID} {
				status, body := api.do("POST", path, adminToken, tc.body)
				require.Equal(t, http.StatusBadRequest, status, body)
				assert.Contains(t, body, `"path":"`+tc.field+`"`)
			}
		})
	}
	status, body := api.do("GET", "/articles/"+a.ID, "", "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, a, decode[Article](t, body), "nothing changed")

	status, body = api.do("POST", "/articles/"+a.ID, adminToken, `{"image":""}`)
	require.Equal(t, http.StatusOK, status, body)
	assert.Empty(t, decode[Article](t, body).Image, "an empty image means no picture")
}

// An article's name and description refuse the bidirectional controls that reorder how text
// shows ("Trojan Source"), on create and on update: a 400 naming the field, nothing stored.
func TestArticleTextRefusesBidiControls(t *testing.T) {
	api := newTestAPI(t)
	a := api.create("Mug", "A mug", "3.5", 1)
	for _, r := range []rune{0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C} {
		for _, field := range []string{"name", "description"} {
			body := fmt.Sprintf(`{"name":"Mug","description":"A mug","price":1,%q:"Free \u%04X gift"}`, field, r)
			for _, path := range []string{"/articles", "/articles/" + a.ID} {
				status, answer := api.do("POST", path, adminToken, body)
				require.Equal(t, http.StatusBadRequest, status, "%U in %s: %s", r, field, answer)
				e := decode[errorBody](t, answer)
				assert.Equal(t, []errs.FieldProblem{{Path: field, Message: web.BidiControlMessage, Code: errs.RuleNoBidi}}, e.Messages, "%U in %s", r, field)
			}
		}
	}
	status, body := api.do("GET", "/articles/"+a.ID, "", "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, a, decode[Article](t, body), "nothing changed")
	status, body = api.do("GET", "/articles?size=100", "", "")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `"total":1`, "nothing created")
}

// TestRestoreArticle: POST /articles/{id} with "enabled": true brings a deleted article back
// (listed, searched), false deletes it as DELETE does; ?deleted=true lists deleted articles for
// admins only.
func TestRestoreArticle(t *testing.T) {
	api := newTestAPI(t)
	a := api.create("Desk", "oak", "120", 3)
	api.create("Chair", "", "40", 2)

	status, body := api.do("POST", "/articles/"+a.ID, adminToken, `{"enabled":false}`)
	require.Equal(t, http.StatusOK, status, body)
	assert.False(t, decode[Article](t, body).Enabled)
	_, body = api.do("GET", "/articles", "", "")
	assert.Equal(t, []string{"Chair"}, names(decode[listPage](t, body).Items))

	for _, tt := range []struct {
		name, path, token string
		status            int
	}{
		{"no token", "/articles?deleted=true", "", http.StatusUnauthorized},
		{"user token", "/articles?deleted=true", userToken, http.StatusForbidden},
		{"not a boolean", "/articles?deleted=yes", adminToken, http.StatusBadRequest},
	} {
		status, body := api.do("GET", tt.path, tt.token, "")
		assert.Equal(t, tt.status, status, tt.name+": "+body)
	}
	status, body = api.do("GET", "/articles?deleted=true", adminToken, "")
	require.Equal(t, http.StatusOK, status, body)
	deleted := decode[listPage](t, body)
	assert.Equal(t, []string{"Desk"}, names(deleted.Items))
	assert.EqualValues(t, 1, deleted.Total)
	_, body = api.do("GET", "/articles?deleted=true&q=chair", adminToken, "")
	assert.Empty(t, decode[listPage](t, body).Items)

	for _, tt := range []struct {
		name, token, body string
		status            int
	}{
		{"user token", userToken, `{"enabled":true}`, http.StatusForbidden},
		{"enabled as text", adminToken, `{"enabled":"true"}`, http.StatusBadRequest},
	} {
		status, body := api.do("POST", "/articles/"+a.ID, tt.token, tt.body)
		assert.Equal(t, tt.status, status, tt.name+": "+body)
	}

	status, body = api.do("POST", "/articles/"+a.ID, adminToken, `{"enabled":true}`)
	require.Equal(t, http.StatusOK, status, body)
	got := decode[Article](t, body)
	assert.True(t, got.Enabled)
	assert.Equal(t, int64(3), got.Stock, "the stock is kept")
	_, body = api.do("GET", "/articles", "", "")
	assert.Equal(t, []string{"Chair", "Desk"}, names(decode[listPage](t, body).Items))
	_, body = api.do("GET", "/articles/search/oak", "", "")
	assert.Equal(t, []string{"Desk"}, names(decode[[]Article](t, body)))
	_, body = api.do("GET", "/articles?deleted=true", adminToken, "")
	assert.Empty(t, decode[listPage](t, body).Items)
	status, _ = api.do("POST", "/articles/"+a.ID, adminToken, `{"enabled":true}`)
	assert.Equal(t, http.StatusOK, status, "restoring twice is fine")
}
