package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rawJSON is answered with odd spacing: a decoding gateway would not give
// it back byte for byte.
const rawJSON = `{"id":  "a1",   "n": 1.50}`

// proxyBackend is a backend for pass-through pipelines. release unblocks
// /slow.
func proxyBackend(t *testing.T, png []byte, release chan struct{}) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Set-Cookie", "session=s1; HttpOnly")
		h.Add("Set-Cookie", "theme=dark")
		h.Set("ETag", `"v1"`)
		h.Set("Location", "/items/a1")
		h.Set("Cache-Control", "private, max-age=60")
		h.Set("X-Internal", "secret-ish")
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, rawJSON)
	})
	mux.HandleFunc("GET /missing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":  "no such item"}`)
	})
	mux.HandleFunc("GET /logo.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(png)
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("GET /down", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) { // announced length
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "50000")
		_, _ = w.Write(bytes.Repeat([]byte("x"), 50000))
	})
	mux.HandleFunc("GET /chunked/{n}", func(w http.ResponseWriter, r *http.Request) { // no length
		w.Header().Set("Content-Type", "text/plain")
		n, _ := strconv.Atoi(r.PathValue("n"))
		for range n {
			_, _ = w.Write(bytes.Repeat([]byte("y"), 1000))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("GET /tagged", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"t7"`)
		w.Header().Set("Set-Cookie", "who=me")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"tag": "t7"}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// proxyFiles is a pipeline directory of pass-through pipelines on
// backend, with server.max_response 40,000 bytes.
func proxyFiles(backend, audit string) map[string]string {
	proxy := func(name, method, path, upstreamPath, extra string) string {
		return fmt.Sprintf("name: %s\nmethod: %s\npath: %s\nproxy: true\nsteps:\n  s:\n    upstream: api\n    method: %s\n    path: %s\n%s",
			name, method, path, method, upstreamPath, extra)
	}
	return map[string]string{
		"gateway.yaml": fmt.Sprintf(`server: {max_response: 40000}
upstreams:
  api: {url: %q, retries: 0, timeout: 300ms, breaker: {failures: 2, cooldown: 1m}}
  flaky: {url: %q, retries: 0, breaker: {failures: 2, cooldown: 1m}}
audit: %s
`, backend, backend, audit),
		"create.yaml": proxy("create", "POST", "/v1/items", "/items",
			"    body: ${ .body }\n    relay_headers: [Set-Cookie, Cache-Control, ETag, Location, Content-Type]\n"),
		"missing.yaml": proxy("missing", "GET", "/v1/missing", "/missing", ""),
		"logo.yaml":    proxy("logo", "GET", "/v1/logo", "/logo.png", ""),
		"slow.yaml":    proxy("slow", "GET", "/v1/slow", "/slow", ""),
		"big.yaml":     proxy("big", "GET", "/v1/big", "/big", ""),
		"chunked.yaml": proxy("chunked", "GET", "/v1/chunked/{n}", "/chunked/${ .params.n }", "params:\n  n: {in: path, type: integer}\n"),
		"down.yaml":    strings.Replace(proxy("down", "GET", "/v1/down", "/down", ""), "upstream: api", "upstream: flaky", 1),
		"tagged.yaml": `name: tagged
path: /v1/tagged
cache: 1m
steps:
  first: {upstream: api, path: /tagged, relay_headers: [ETag, Set-Cookie]}
  second: {upstream: api, path: /tagged, select: .tag}
`,
	}
}

// TestProxyPassThrough covers what a pass-through relays: the status, the
// allowed headers (Set-Cookie twice), the body byte for byte.
func TestProxyPassThrough(t *testing.T) {
	png := make([]byte, 1500)
	for i := range png {
		png[i] = byte(rand.N(256))
	}
	backend := proxyBackend(t, png, make(chan struct{}))
	base, _ := serveDir(t, proxyFiles(backend.URL, "{nats: \"off\"}"))

	resp, err := http.Post(base+"/v1/items", "application/json", strings.NewReader(`{"name":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != http.StatusCreated || string(body) != rawJSON {
		t.Fatalf("POST: %d %q, want 201 %q", resp.StatusCode, body, rawJSON)
	}
	if c := h.Values("Set-Cookie"); len(c) != 2 || c[0] != "session=s1; HttpOnly" || c[1] != "theme=dark" {
		t.Errorf("Set-Cookie = %q", c)
	}
	if h.Get("ETag") != `"v1"` || h.Get("Location") != "/items/a1" || h.Get("Cache-Control") != "private, max-age=60" ||
		h.Get("Content-Type") != "application/json" || h.Get("Content-Length") != fmt.Sprint(len(rawJSON)) {
		t.Errorf("relayed headers: %v", h)
	}
	if h.Get("X-Internal") != "" || h.Get("Manifold-Request-Id") == "" {
		t.Errorf("X-Internal relayed or request id missing: %v", h)
	}

	status, h, got := fetch(t, base+"/v1/missing")
	if status != http.StatusNotFound || got != `{"error":  "no such item"}` || h.Get("Content-Type") != "application/json" {
		t.Errorf("404: %d %v %q", status, h, got)
	}
	status, h, got = fetch(t, base+"/v1/logo")
	if status != http.StatusOK || got != string(png) || h.Get("Content-Type") != "image/png" {
		t.Errorf("png: %d %v, %d bytes equal=%v", status, h, len(got), got == string(png))
	}
}

// TestProxyResilience: timeout, breaker and max_response still apply to a
// pass-through, and the answers before anything is relayed are problems.
func TestProxyResilience(t *testing.T) {
	release := make(chan struct{})
	backend := proxyBackend(t, nil, release)
	defer close(release)
	base, _ := serveDir(t, proxyFiles(backend.URL, "{nats: \"off\"}"))

	status, h, body := fetch(t, base+"/v1/slow")
	if status != http.StatusGatewayTimeout || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") ||
		!strings.Contains(body, `:upstream-timeout"`) {
		t.Errorf("slow: %d %s", status, body)
	}
	for i := range 2 { // relayed, and counted by the breaker
		if status, _, body := fetch(t, base+"/v1/down"); status != http.StatusServiceUnavailable || body != "down\n" {
			t.Errorf("down #%d: %d %q, want the upstream's 503", i, status, body)
		}
	}
	if status, _, body := fetch(t, base+"/v1/down"); status != http.StatusBadGateway || !strings.Contains(body, "breaker open") {
		t.Errorf("down with the breaker open: %d %s", status, body)
	}
	status, _, body = fetch(t, base+"/v1/big") // Content-Length 50,000
	if status != http.StatusBadGateway || !strings.Contains(body, `:response-too-large"`) {
		t.Errorf("big: %d %s", status, body)
	}
	// No length announced, but the body ends within what is read before
	// the status: relayed whole, with its length.
	status, h, body = fetch(t, base+"/v1/chunked/5")
	if status != http.StatusOK || len(body) != 5000 || h.Get("Content-Length") != "5000" {
		t.Errorf("chunked 5000: %d %v, %d bytes", status, h, len(body))
	}
	// No length announced and past the cap after the status went out:
	// the answer is cut and the caller sees it incomplete.
	resp, err := http.Get(base + "/v1/chunked/50")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err == nil || n > 40000 {
		t.Errorf("chunked 50000: %d, read %d bytes, err %v; want 200, at most 40000 bytes and an error", resp.StatusCode, n, err)
	}
}

// TestRelayFromStep: a normal pipeline relays a named step's ETag, also
// from its response cache, but a cached answer never carries a cookie.
func TestRelayFromStep(t *testing.T) {
	backend := proxyBackend(t, nil, make(chan struct{}))
	base, _ := serveDir(t, proxyFiles(backend.URL, "{nats: \"off\"}"))
	status, h, body := fetch(t, base+"/v1/tagged")
	if status != 200 || h.Get("ETag") != `"t7"` || h.Get("Set-Cookie") != "who=me" || h.Get("Content-Type") != "application/json" {
		t.Errorf("first: %d %v %s", status, h, body)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil || v["second"] != "t7" {
		t.Errorf("answer %s: %v", body, err)
	}
	status, h, _ = fetch(t, base+"/v1/tagged")
	if status != 200 || h.Get("Manifold-Cache") != "hit" || h.Get("ETag") != `"t7"` || h.Get("Set-Cookie") != "" {
		t.Errorf("cached: %d %v", status, h)
	}
}

// TestProxyAudit: a pass-through leaves one audit event with the status
// it relayed.
func TestProxyAudit(t *testing.T) {
	backend := proxyBackend(t, []byte("png"), make(chan struct{}))
	dataDir := t.TempDir()
	base, stop := serveDir(t, proxyFiles(backend.URL, fmt.Sprintf("{listen: \"127.0.0.1:0\", data_dir: %q}", dataDir)))
	id, status := restCall(t, base+"/v1/missing")
	if status != http.StatusNotFound {
		t.Fatalf("missing: %d", status)
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	events := readAudit(t, storeConn(t, filepath.Join(dataDir, "nats")))
	if len(events) != 1 {
		t.Fatalf("%d events, want 1", len(events))
	}
	d := events[0].data
	if d.RequestID != id || d.Pipeline != "missing" || d.Status != http.StatusNotFound || d.Surface != "rest" ||
		len(d.Steps) != 1 || d.Steps[0].Status != http.StatusNotFound || d.Steps[0].Upstream != "api" {
		t.Errorf("event: %+v", d)
	}
	validateEvent(t, auditSchema(t), events[0].raw)
}
