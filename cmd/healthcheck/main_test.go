package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestTarget(t *testing.T) {
	tests := []struct {
		args    []string
		port    string
		want    string
		wantErr bool
	}{
		{nil, "3002", "http://127.0.0.1:3002/healthz", false},
		{[]string{"http://127.0.0.1:9/readyz"}, "3002", "http://127.0.0.1:9/readyz", false},
		{nil, "", "", true},
		{[]string{"a", "b"}, "3002", "", true},
	}
	for _, tc := range tests {
		got, err := target(tc.args, tc.port)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("target(%q, %q) = %q, %v; want %q, error %v", tc.args, tc.port, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	if err := check(srv.URL+"/healthz", 5*time.Second); err != nil {
		t.Errorf("healthy server: %v", err)
	}
	if err := check(srv.URL+"/readyz", 5*time.Second); err == nil {
		t.Error("a 503 answer passed the check")
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if err := check(closed.URL+"/healthz", 5*time.Second); err == nil {
		t.Error("a closed port passed the check")
	}
}
