package connectors

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/waittest"
)

func TestHTTPURL(t *testing.T) {
	tests := []struct {
		name  string
		base  string // path and query of the upstream URL
		path  string
		query url.Values
		want  string // request URI the upstream sees
	}{
		{"no base path", "", "/markets", nil, "/markets"},
		{"base path prefix", "/api/v1", "/markets", nil, "/api/v1/markets"},
		{"base path with slash", "/api/v1/", "/markets", nil, "/api/v1/markets"},
		{"escaped slash stays escaped", "/api", "/items/a%2Fb", nil, "/api/items/a%2Fb"},
		{"escaped space", "", "/cities/New%20York", nil, "/cities/New%20York"},
		{"question mark cannot start a query", "", "/a?b=c", nil, "/a%3Fb=c"},
		{"missing leading slash", "/api", "markets", nil, "/api/markets"},
		{"empty path keeps base", "/api/", "", nil, "/api/"},
		{"query encoded and sorted", "", "/m", url.Values{"q": {"a b&c"}, "id": {"1", "2"}}, "/m?id=1&id=2&q=a+b%26c"},
		{"base query kept", "/api?key=k", "/m", url.Values{"city": {"Berlin"}}, "/api/m?key=k&city=Berlin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan string, 1)
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				got <- r.RequestURI
				w.Write([]byte(`{}`))
			})
			h, err := NewHTTP(config(t, srv.URL+tt.base))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if _, err := h.Do(context.Background(), &Request{Method: "GET", Path: tt.path, Query: tt.query}); err != nil {
				t.Fatal(err)
			}
			if uri := <-got; uri != tt.want {
				t.Errorf("upstream saw %q, want %q", uri, tt.want)
			}
		})
	}
}

func TestHTTPRejectsDotSegments(t *testing.T) {
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("upstream called with %s", r.RequestURI)
	})
	h, err := NewHTTP(config(t, srv.URL+"/api"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, path := range []string{"/../admin", "/a/%2e%2E/b", "/./x", "/a/.."} {
		_, err := h.Do(context.Background(), &Request{Method: "GET", Path: path})
		if !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("path %q: got %v, want ErrInvalidRequest", path, err)
		}
	}
}

func TestHTTPHeaders(t *testing.T) {
	tests := []struct {
		name   string
		method string
		body   []byte
		want   http.Header // exactly these, besides Accept-Encoding and Content-Length added by net/http
	}{
		{"GET", "GET", nil, http.Header{
			"Accept": {"application/json"}, "User-Agent": {"manifold"},
			"Authorization": {"Bearer secret"}, "X-Team": {"step"}, "X-Step": {"1"},
		}},
		{"POST with body", "POST", []byte(`{"q":1}`), http.Header{
			"Accept": {"application/json"}, "User-Agent": {"manifold"}, "Content-Type": {"application/json"},
			"Authorization": {"Bearer secret"}, "X-Team": {"step"}, "X-Step": {"1"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan http.Header, 1)
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				got <- r.Header.Clone()
			})
			cfg := config(t, srv.URL)
			cfg.Headers = http.Header{"Authorization": {"Bearer secret"}, "X-Team": {"config"}}
			h, err := NewHTTP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			req := &Request{Method: tt.method, Path: "/", Body: tt.body,
				Header: http.Header{"x-team": {"step"}, "X-Step": {"1"}}}
			if _, err := h.Do(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			seen := <-got
			seen.Del("Accept-Encoding")
			seen.Del("Content-Length")
			if !equalHeaders(seen, tt.want) {
				t.Errorf("upstream saw headers\n%v\nwant\n%v", seen, tt.want)
			}
		})
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, vs := range a {
		if !slices.Equal(vs, b[k]) {
			return false
		}
	}
	return true
}

func TestHTTPUserinfoIsBasicAuthAndNeverInErrors(t *testing.T) {
	got := make(chan string, 1)
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		got <- user + ":" + pass
		w.WriteHeader(http.StatusBadGateway)
	})
	h, err := NewHTTP(config(t, strings.Replace(srv.URL, "http://", "http://me:hunter2@", 1)+"/api?token=hunter3"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	_, err = h.Do(context.Background(), &Request{Method: "GET", Path: "/x", Query: url.Values{"key": {"hunter4"}}})
	if auth := <-got; auth != "me:hunter2" {
		t.Errorf("basic auth %q, want me:hunter2", auth)
	}
	if err == nil || strings.Contains(err.Error(), "hunter") || !strings.Contains(err.Error(), "/api/x") {
		t.Errorf("error %q: want the URL without userinfo or query", err)
	}
}

func TestHTTPSizeCap(t *testing.T) {
	body := strings.Repeat("x", 100)
	tests := []struct {
		name    string
		limit   int64
		chunked bool // no Content-Length: the cap is found while reading
		wantErr bool
	}{
		{"announced, too large", 99, false, true},
		{"chunked, too large", 99, true, true},
		{"exactly the cap", 100, false, false},
		{"chunked, exactly the cap", 100, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.chunked {
					w.Write([]byte(body[:50]))
					w.(http.Flusher).Flush()
					w.Write([]byte(body[50:]))
					return
				}
				w.Write([]byte(body))
			})
			cfg := config(t, srv.URL)
			cfg.MaxResponse = tt.limit
			h, err := NewHTTP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			resp, err := h.Do(context.Background(), &Request{Method: "GET", Path: "/"})
			if tt.wantErr {
				if !errors.Is(err, ErrResponseTooLarge) {
					t.Errorf("got %v, want ErrResponseTooLarge", err)
				}
				return
			}
			if err != nil || string(resp.Body) != body {
				t.Errorf("got %d bytes, %v; want the body", len(resp.Body), err)
			}
		})
	}
}

func TestHTTPHead(t *testing.T) {
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
	})
	cfg := config(t, srv.URL)
	cfg.MaxResponse = 10
	u := newUpstream(t, cfg, Options{})
	resp, err := u.Do(context.Background(), &Request{Method: "HEAD", Path: "/"})
	if err != nil || resp.Status != http.StatusOK || len(resp.Body) != 0 {
		t.Errorf("got %v, status %d, %d bytes; want 200 without body", err, resp.Status, len(resp.Body))
	}
}

func TestHTTPStatusError(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct {
		name, contentType, body string
		status                  int
		wantDetail              string
	}{
		{"problem detail", "application/problem+json", `{"title":"Bad","detail":"city unknown"}`, 404, "city unknown"},
		{"problem title only", "application/problem+json", `{"title":"Bad thing"}`, 400, "Bad thing"},
		{"json error", "application/json", `{"error":"no such market"}`, 404, "no such market"},
		{"json error object", "application/json", `{"error":{"message":"quota"}}`, 429, "quota"},
		{"json message", "application/json; charset=utf-8", `{"message":"down for\nmaintenance"}`, 503, "down for maintenance"},
		{"graphql errors", "application/json", `{"errors":[{"message":"bad query"}]}`, 400, "bad query"},
		{"text clipped", "text/plain", long, 500, strings.Repeat("é", 100) + "…"},
		{"html ignored", "text/html", "<h1>502</h1>", 502, ""},
		{"invalid json", "application/json", `{"error":`, 500, ""},
		{"redirect", "", "", 302, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				if tt.status == 302 {
					w.Header().Set("Location", "http://example.com/")
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			cfg := config(t, srv.URL)
			cfg.Headers = http.Header{"Authorization": {"Bearer topsecret"}}
			h, err := NewHTTP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			resp, err := h.Do(context.Background(), &Request{Method: "GET", Path: "/"})
			var serr *StatusError
			if !errors.As(err, &serr) {
				t.Fatalf("got %v, want *StatusError", err)
			}
			if serr.Status != tt.status || serr.Detail != tt.wantDetail {
				t.Errorf("got status %d detail %q, want %d %q", serr.Status, serr.Detail, tt.status, tt.wantDetail)
			}
			if resp.Status != tt.status || resp.Attempts != 1 {
				t.Errorf("response status %d attempts %d, want %d 1", resp.Status, resp.Attempts, tt.status)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error leaks a request header: %v", err)
			}
		})
	}
}

func TestUpstreamTimeout(t *testing.T) {
	aborted, release := make(chan struct{}), make(chan struct{})
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			close(aborted)
		case <-release:
		}
	}, release)
	cfg := config(t, srv.URL)
	cfg.Timeout = 50 * time.Millisecond
	u := newUpstream(t, cfg, Options{})
	start := time.Now()
	_, err := u.Do(context.Background(), &Request{Method: "GET", Path: "/slow"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("timeout of 50ms took %s", elapsed)
	}
	waittest.Receive(t, aborted, "the upstream to see the call aborted")
}

func TestCancelAbortsCall(t *testing.T) {
	started, aborted, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
			close(aborted)
		case <-release:
		}
	}, release)
	u := newUpstream(t, config(t, srv.URL), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := u.Do(ctx, &Request{Method: "GET", Path: "/slow"})
		errc <- err
	}()
	waittest.Receive(t, started, "the call to start")
	cancel()
	if err := waittest.Receive(t, errc, "Do to return after cancel"); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	waittest.Receive(t, aborted, "the upstream to see the call aborted")
}

func TestConnectionRefused(t *testing.T) {
	u := newUpstream(t, config(t, refusedURL(t)), Options{})
	start := time.Now()
	resp, err := u.Do(context.Background(), &Request{Method: "GET", Path: "/"})
	if err == nil {
		t.Fatal("want an error")
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("refused connection took %s", elapsed)
	}
	if resp.Attempts != 1 {
		t.Errorf("attempts %d, want 1", resp.Attempts)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := config(t, "http://127.0.0.1:1")
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"unknown kind", func(c *Config) { c.Kind = "grpc" }},
		{"no url", func(c *Config) { c.URL = nil }},
		{"relative url", func(c *Config) { c.URL = &url.URL{Path: "/x"} }},
		{"ftp url", func(c *Config) { c.URL = &url.URL{Scheme: "ftp", Host: "h"} }},
		{"no name", func(c *Config) { c.Name = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			if u, err := New(cfg, Options{}); err == nil {
				u.Close()
				t.Error("want an error")
			}
		})
	}
}
