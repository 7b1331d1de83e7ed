package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

func TestMaxConcurrent(t *testing.T) {
	entered, release := make(chan struct{}, 2), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	})
	h := httptest.NewServer(server.MaxConcurrent(slow, 2))
	defer h.Close()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if resp, err := http.Get(h.URL + "/slow"); err == nil {
				resp.Body.Close()
			}
		})
	}
	<-entered
	<-entered
	resp, err := http.Get(h.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Type string }
	_ = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || p.Type != "urn:manifold:problem:overloaded" {
		t.Errorf("third request: %d, Retry-After %q, type %q; want 503, 1, overloaded", resp.StatusCode, resp.Header.Get("Retry-After"), p.Type)
	}
	close(release)
	wg.Wait()
}

func TestClientIP(t *testing.T) {
	ip, err := server.ClientIP([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	none, _ := server.ClientIP(nil)
	cases := []struct {
		name, peer string
		xff        []string
		f          func(*http.Request) string
		want       string
	}{
		{"no proxies configured", "203.0.113.5:1234", []string{"1.2.3.4"}, none, "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:1234", []string{"1.2.3.4"}, ip, "203.0.113.5"},
		{"trusted proxy", "10.1.2.3:1234", []string{"198.51.100.9"}, ip, "198.51.100.9"},
		{"spoofed left part ignored", "10.1.2.3:1234", []string{"6.6.6.6, 198.51.100.9"}, ip, "198.51.100.9"},
		{"chain of trusted proxies", "10.1.2.3:1", []string{"198.51.100.9, 192.0.2.7", "10.9.9.9"}, ip, "198.51.100.9"},
		{"only trusted hops", "10.1.2.3:1", []string{"10.2.2.2"}, ip, "10.1.2.3"},
		{"garbage hop", "10.1.2.3:1", []string{"1.2.3.4, not-an-ip"}, ip, "10.1.2.3"},
		{"ipv6 with port", "192.0.2.7:1", []string{"[2001:db8::1]:443"}, ip, "2001:db8::1"},
		{"no header", "10.1.2.3:1", nil, ip, "10.1.2.3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := c.f(r); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	if _, err := server.ClientIP([]string{"nope"}); err == nil {
		t.Error("a bad trusted proxy was accepted")
	}
}

func TestCORS(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	cfg := &gateway.CORS{Origins: []string{"https://chat.openai.com"}, Methods: []string{"GET", "POST"},
		Headers: []string{"Content-Type", "X-API-Key"}, MaxAge: yamlconf.Duration(600e9)}
	h := server.CORS(ok, cfg)
	cases := []struct {
		name, method, origin, reqMethod string
		status                          int
		allowOrigin, allowMethods       string
	}{
		{"no origin", "GET", "", "", 200, "", ""},
		{"allowed origin", "GET", "https://chat.openai.com", "", 200, "https://chat.openai.com", ""},
		{"other origin", "GET", "https://evil.test", "", 200, "", ""},
		{"preflight", "OPTIONS", "https://chat.openai.com", "POST", 204, "https://chat.openai.com", "GET, POST"},
		{"preflight from another origin", "OPTIONS", "https://evil.test", "POST", 403, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, "/v1/x", nil)
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
			if c.reqMethod != "" {
				r.Header.Set("Access-Control-Request-Method", c.reqMethod)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			got := w.Result()
			if got.StatusCode != c.status || got.Header.Get("Access-Control-Allow-Origin") != c.allowOrigin ||
				got.Header.Get("Access-Control-Allow-Methods") != c.allowMethods {
				t.Errorf("got %d, origin %q, methods %q; want %d, %q, %q", got.StatusCode,
					got.Header.Get("Access-Control-Allow-Origin"), got.Header.Get("Access-Control-Allow-Methods"),
					c.status, c.allowOrigin, c.allowMethods)
			}
		})
	}
}
