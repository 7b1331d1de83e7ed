package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/manifoldgw/manifold/internal/launch"
)

// adminKey is the key the test demos run with.
const adminKey = "console-test-admin-key-0123456789"

// demoGW is a running demo with the console on its admin listener.
type demoGW struct {
	base, admin string
}

// startDemo runs the demo with the admin API (and so the console) on
// ephemeral loopback ports until t ends.
func startDemo(t *testing.T) demoGW { return startDemoDir(t, "") }

// startDemoDir is startDemo with the pipelines of dir ("" the embedded
// demo set), reloaded when they change.
func startDemoDir(t *testing.T, dir string) demoGW {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr, adminAddr, done := make(chan string, 1), make(chan string, 1), make(chan error, 1)
	go func() {
		var out strings.Builder
		done <- launch.Demo(ctx, launch.Options{Dir: dir, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", AdminKey: adminKey,
			Ready: func(a string) { addr <- a }, AdminReady: func(a string) { adminAddr <- a }}, &out)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo shutdown: %v", err)
		}
	})
	var d demoGW
	for d.base == "" || d.admin == "" {
		select {
		case a := <-addr:
			d.base = launch.BaseURL(a)
		case a := <-adminAddr:
			d.admin = "http://" + a
		case err := <-done:
			t.Fatalf("demo did not start: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("demo did not start within 30s")
		}
	}
	return d
}

// browser is an HTTP client that keeps cookies and does not follow
// redirects (tests look at them).
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get fetches url and returns the status and body.
func get(t *testing.T, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// post sends a form and returns the status, body and headers.
func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// signIn signs c in and returns the CSRF token of its session.
func signIn(t *testing.T, c *http.Client, d demoGW) string {
	t.Helper()
	status, _, h := post(t, c, d.admin+"/console/signin", url.Values{"key": {adminKey}})
	if status != http.StatusSeeOther || h.Get("Location") != "/console/" {
		t.Fatalf("sign-in with the right key: %d to %q, want 303 to /console/", status, h.Get("Location"))
	}
	status, body, _ := get(t, c, d.admin+"/console/")
	if status != http.StatusOK {
		t.Fatalf("overview after sign-in: %d", status)
	}
	tok := attr(find(parse(t, body), func(n *html.Node) bool { return attr(n, "name") == "csrf" }), "value")
	if tok == "" {
		t.Fatal("the overview has no CSRF token in its forms")
	}
	return tok
}

// adminJSON reads an admin API endpoint with the key.
func adminJSON(t *testing.T, d demoGW, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, d.admin+path, nil)
	req.Header.Set("X-API-Key", adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("admin %s: %v", path, err)
	}
}

// breakerOverride is an upstream's breaker override per the admin API.
func breakerOverride(t *testing.T, d demoGW, upstream string) string {
	t.Helper()
	var v struct {
		Breaker struct{ State, Override string }
	}
	adminJSON(t, d, "/upstreams/"+upstream, &v)
	return v.Breaker.Override
}

func parse(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// findAll returns the nodes under n that match.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if all := findAll(n, match); len(all) > 0 {
		return all[0]
	}
	return nil
}

func attr(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}
