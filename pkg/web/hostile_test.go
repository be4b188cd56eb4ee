package web_test

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

type article struct {
	Name  string   `json:"name"`
	Tags  []string `json:"tags"`
	Inner struct {
		Note string `json:"note"`
	} `json:"inner"`
	Extra map[string]string `json:"extra"`
}

// Regression (issue 14, finding 5): broken text and control characters are refused with a 400
// that names the field, whatever the service; tab and line breaks are text.
func TestDecodeRefusesBrokenText(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := web.Decode[article](r)
		if err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.Encode(w, http.StatusOK, in)
	})
	tests := []struct {
		name   string
		body   string
		status int
		path   string
	}{
		{"plain text", `{"name":"Taza azul\tgrande\r\nde café ☕"}`, 200, ""},
		{"raw invalid UTF-8", "{\"name\":\"bad \xff\xfe text\"}", 400, "name"},
		{"invalid UTF-8 in a list", "{\"tags\":[\"ok\",\"\xc3\"]}", 400, "tags[1]"},
		{"invalid UTF-8 in an ignored field", "{\"other\":\"\xff\"}", 400, ""},
		{"escaped NUL", `{"name":"a\u0000b"}`, 400, "name"},
		{"raw DEL", "{\"inner\":{\"note\":\"a\x7fb\"}}", 400, "inner.note"},
		{"C1 control", `{"extra":{"k":"a\u0085b"}}`, 400, "extra.k"},
		{"escape sequence", `{"name":"\u001b[31mred"}`, 400, "name"},
		{"a real U+FFFD is text", `{"name":"\ufffd"}`, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body)))
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.status == 200 {
				return
			}
			var body struct {
				Error    string              `json:"error"`
				Messages []errs.FieldProblem `json:"messages"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.NotEmpty(t, body.Error)
			if tc.path != "" {
				require.Len(t, body.Messages, 1, rec.Body.String())
				assert.Equal(t, tc.path, body.Messages[0].Path)
			}
		})
	}
}

// Regression (issue 14, finding 9): a body announced as chunked that never comes is answered
// 408 once it has been idle too long, and the connection is closed; never a made-up 499.
func TestBodyThatNeverComes(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	h := web.LimitBodyTime(300*time.Millisecond, 5*time.Second)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := web.Decode[article](r); err != nil {
			web.Error(w, r, log, err)
			return
		}
		web.NoContent(w)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"nam")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second))) // a guard for the test only
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
	assert.True(t, resp.Close, "the connection is not kept")
}
