package connectors

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestOptionsTransportFakesTheExchange: Options.Transport replaces the
// exchange only; retries above it still run, and it is told which
// upstream it serves and given the upstream's own pool.
func TestOptionsTransportFakesTheExchange(t *testing.T) {
	var (
		mu    sync.Mutex
		calls []string
		names []string
		pools []http.RoundTripper
	)
	fake := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.RequestURI())
		n := len(calls)
		mu.Unlock()
		status, body := http.StatusServiceUnavailable, `{"detail":"warming up"}`
		if n > 1 {
			status, body = http.StatusOK, `{"ok":true}`
		}
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
	})
	cfg := config(t, "http://nowhere.invalid/base")
	cfg.Retries = 1
	u := newUpstream(t, cfg, Options{Transport: func(name string, pool http.RoundTripper) http.RoundTripper {
		names, pools = append(names, name), append(pools, pool)
		return fake
	}})
	resp, err := u.Do(context.Background(), &Request{Method: http.MethodGet, Path: "/items", Query: map[string][]string{"q": {"a b"}}})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if string(resp.Body) != `{"ok":true}` || resp.Attempts != 2 {
		t.Errorf("body %s, attempts %d; want the second answer after one retry", resp.Body, resp.Attempts)
	}
	want := []string{"GET /base/items?q=a+b", "GET /base/items?q=a+b"}
	if strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Errorf("calls = %q, want %q", calls, want)
	}
	if len(names) != 1 || names[0] != "test" {
		t.Errorf("Transport called for %q, want once for test", names)
	}
	if _, ok := pools[0].(*http.Transport); !ok {
		t.Errorf("Transport got %T, want the upstream's *http.Transport pool", pools[0])
	}
}
