package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// serveDir writes files into a temporary pipeline directory, loads it as
// `manifold serve --dir` does and serves it on an ephemeral port. It
// returns the base URL and a function that stops the gateway (draining).
func serveDir(t *testing.T, files map[string]string) (string, func() error) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- launch.Serve(ctx, plan, launch.Options{Listen: "127.0.0.1:0", Ready: func(a string) { addr <- a }})
	}()
	var stopped atomic.Bool
	stop := func() error {
		if stopped.Swap(true) {
			return nil
		}
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case a := <-addr:
		return "http://" + a, stop
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	return "", nil
}

// TestShutdownDrainsInFlight stops the gateway while a request is in
// flight: the request still gets its full answer and Serve returns nil.
func TestShutdownDrainsInFlight(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer slow.Close()
	base, stop := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  slow: {url: %q, timeout: 5s}\n", slow.URL),
		"slow.yaml":    "name: slow\npath: /slow\nsteps:\n  s: {upstream: slow, path: /}\n",
	})
	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- result{status: resp.StatusCode, body: string(b)}
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// The listener closes at once: new connections are refused while the
	// old request is still being served.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := http.Get(base + "/healthz"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("gateway still accepts connections after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	r := <-got
	if r.err != nil || r.status != 200 || r.body != `{"s":{"ok":true}}` {
		t.Errorf("in-flight request: %+v, want 200 with the full answer", r)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve returned %v after a clean drain", err)
	}
}

// TestRESTEdges covers what the REST front adds around a run: bodies,
// headers that must not leak upstream, and the incomplete header.
func TestRESTEdges(t *testing.T) {
	var sawAuth, sawCookie atomic.Value
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth.Store(r.Header.Get("Authorization"))
		sawCookie.Store(r.Header.Get("Cookie"))
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if len(body) == 0 {
			body = []byte(`{}`)
		}
		_, _ = w.Write(body)
	}))
	defer echo.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // connection refused
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("server: {max_body: 1KiB}\nupstreams:\n  echo: {url: %q}\n  down: {url: %q, timeout: 500ms}\n", echo.URL, down.URL),
		"order.yaml": `
name: placeOrder
method: POST
path: /orders
body: {description: The order, schema: {type: object}}
steps:
  echo: {upstream: echo, method: POST, path: /orders, body: "${ .body }"}
`,
		"partial.yaml": `
name: partial
path: /partial
steps:
  echo: {upstream: echo, path: /}
  down: {upstream: down, path: /, optional: true}
`,
	})
	post := func(ct, body string) (int, string) {
		req, _ := http.NewRequest("POST", base+"/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer client-secret")
		req.Header.Set("Cookie", "session=client")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	cases := []struct {
		name, ct, body string
		status         int
		contains       string
	}{
		{"json body passes through", "application/json", `{"sku":"p1001","qty":2}`, 200, `{"echo":{"qty":2,"sku":"p1001"}}`},
		{"wrong media type", "text/plain", `{"sku":1}`, 415, "unsupported-media-type"},
		{"malformed json", "application/json", `{"sku":`, 400, `"name":"body"`},
		{"empty body", "application/json", ``, 400, "a JSON request body is required"},
		{"too large", "application/json", `{"pad":"` + strings.Repeat("x", 2048) + `"}`, 413, "body-too-large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(c.ct, c.body)
			if status != c.status || !strings.Contains(body, c.contains) {
				t.Errorf("status %d body %s, want %d containing %s", status, body, c.status, c.contains)
			}
		})
	}
	if a, c := sawAuth.Load(), sawCookie.Load(); a != "" || c != "" {
		t.Errorf("client credentials reached the upstream: Authorization %q, Cookie %q", a, c)
	}
	resp, err := http.Get(base + "/partial")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Manifold-Incomplete") != "down" || string(b) != `{"down":null,"echo":{}}` {
		t.Errorf("partial: %d %q %s", resp.StatusCode, resp.Header.Get("Manifold-Incomplete"), b)
	}
}

// TestUpstreamRejectionIsPassedOn: an upstream refusing the caller's
// input (400, 409, 422, and 404 for a missing thing) answers the caller
// with that status, a detail in the gateway's words and the upstream's
// own in upstream_detail; its own failures are 502s.
func TestUpstreamRejectionIsPassedOn(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"title":"x","detail":"upstream says %d"}`, status)
	}))
	defer up.Close()
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  up: {url: %q}\n", up.URL),
		"p.yaml":       "name: p\npath: /s/{code}\nparams: {code: {in: path, type: integer}}\nsteps:\n  s: {upstream: up, path: \"/${ .params.code }\"}\n",
	})
	for _, c := range []struct {
		upstream, want int
		typ, detail    string
		said           string // upstream_detail: the upstream's own text
	}{
		{400, 400, "upstream-rejected", `"detail":"upstream \"up\" rejected the request (400)"`, "upstream says 400"},
		{409, 409, "upstream-rejected", `"detail":"upstream \"up\" rejected the request (409)"`, "upstream says 409"},
		{422, 422, "upstream-rejected", `"detail":"upstream \"up\" rejected the request (422)"`, "upstream says 422"},
		{404, 404, "not-found", `"detail":"upstream \"up\" has no such resource"`, "upstream says 404"},
		{401, 502, "upstream-failed", "upstream up answered 401", ""},
		{503, 502, "upstream-failed", "upstream up answered 503", ""},
	} {
		resp, err := http.Get(fmt.Sprintf("%s/s/%d", base, c.upstream))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want || !strings.Contains(string(body), `"type":"urn:manifold:problem:`+c.typ+`"`) || !strings.Contains(string(body), c.detail) {
			t.Errorf("upstream %d: got %d %s, want %d %s with %q", c.upstream, resp.StatusCode, body, c.want, c.typ, c.detail)
		}
		if said := `"upstream_detail":"` + c.said + `"`; c.said != "" && !strings.Contains(string(body), said) || c.said == "" && strings.Contains(string(body), "upstream_detail") {
			t.Errorf("upstream %d: got %s, want upstream_detail %q", c.upstream, body, c.said)
		}
	}
}

// TestDuplicateQueryParamRefused: ?lang=de&lang=fr is refused rather than
// answered in whichever language the gateway would pick.
func TestDuplicateQueryParamRefused(t *testing.T) {
	up := newCounting(t, `{"v":1}`)
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  up: {url: %q}\n", up.URL),
		"p.yaml":       "name: p\npath: /p\nparams: {lang: {type: string, default: en}}\nsteps:\n  s: {upstream: up, path: /, query: {lang: \"${ .params.lang }\"}}\n",
	})
	status, _, body := fetch(t, base+"/p?lang=de&lang=fr")
	if status != 400 || !strings.Contains(body, `{"in":"query","name":"lang","reason":"given 2 times; give it once"}`) {
		t.Errorf("got %d %s", status, body)
	}
	if up.calls.Load() != 0 {
		t.Error("the refused request reached the backend")
	}
}
