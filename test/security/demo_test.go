package security

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
)

// The demo's published keys (README, "Security"): demo only.
const (
	demoBuyerKey  = "demo-buyer-key"
	demoReaderKey = "demo-reader-key"
)

func startDemo(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- launch.Demo(ctx, launch.Options{Listen: "127.0.0.1:0", Ready: func(a string) { addr <- a }}, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case err := <-done:
		t.Fatalf("demo: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("the demo did not start within 15s")
	}
	return ""
}

// TestDemo attacks the running demo: its GET pipelines stay public,
// placeOrder needs the buyer role.
func TestDemo(t *testing.T) {
	base := startDemo(t)
	order := `{"market_id":"ber-01","items":[{"product_id":"p1001","quantity":2}]}`
	cases := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		problem                  string
	}{
		{"public GET without a key", "GET", "/v1/products?q=milk", "", nil, 200, ""},
		{"public GET with the reader key", "GET", "/v1/cities/Berlin/deals", "", []string{"X-API-Key", demoReaderKey}, 200, ""},
		{"public GET with a wrong key", "GET", "/v1/products?q=milk", "", []string{"X-API-Key", "guessed"}, 401, "invalid-credentials"},
		{"placeOrder without a key", "POST", "/v1/orders", order, nil, 401, "unauthorized"},
		{"placeOrder with a wrong key", "POST", "/v1/orders", order, []string{"X-API-Key", "guessed"}, 401, "invalid-credentials"},
		{"placeOrder as a reader", "POST", "/v1/orders", order, []string{"X-API-Key", demoReaderKey}, 403, "forbidden"},
		{"placeOrder as a buyer", "POST", "/v1/orders", order, []string{"Authorization", "Bearer " + demoBuyerKey}, 200, ""},
		{"traversal into the deals backend", "GET", "/v1/cities/%2e%2e/deals", "", nil, 400, "bad-request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := do(t, request(t, c.method, base+c.path, c.body, c.headers...))
			if a.status != c.status || a.problemType() != c.problem {
				t.Fatalf("got %d %q (%s), want %d %q", a.status, a.problemType(), a.body, c.status, c.problem)
			}
			if c.method == "POST" && c.status == 200 {
				var o struct {
					Customer string
					Total    float64
					Status   string
				}
				if err := json.Unmarshal(a.body, &o); err != nil || o.Customer != "demo_buyer" || o.Status != "placed" || o.Total != 1.98 {
					t.Errorf("order %s: want placed by demo_buyer for 1.98", a.body)
				}
				if !strings.Contains(a.header.Get("RateLimit-Policy"), `"placeOrder";q=30;w=60`) {
					t.Errorf("RateLimit-Policy %q", a.header.Get("RateLimit-Policy"))
				}
			}
		})
	}
}
