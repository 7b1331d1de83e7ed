package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestResponseCacheSeparatesClaims: one subject with two tenants in its
// token's claims never gets the other tenant's cached answer when the
// pipeline reads claims; a pipeline that reads none is cached once.
func TestResponseCacheSeparatesClaims(t *testing.T) {
	var calls atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, fmt.Sprintf(`{"path":%q}`, r.URL.Path))
	}))
	defer up.Close()
	rt, err := Build(loadPlan(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  up: {url: %q}\n", up.URL),
		"orders.yaml": "name: orders\npath: /orders\ncache: 1m\nsteps:\n" +
			"  s: {upstream: up, path: \"/tenants/${ .consumer.claims.tenant }/orders\", select: .path}\n",
		"plain.yaml": "name: plain\npath: /plain\ncache: 1m\nsteps:\n  s: {upstream: up, path: /plain, select: .path}\noutput: '{who: .consumer.name, s: .s}'\n",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	call := func(name, tenant string) *Outcome {
		id := &pipeline.Identity{Name: "alice", Source: pipeline.IdentityJWT, Claims: map[string]any{"tenant": tenant, "iat": 1.0}}
		return rt.Invoke(context.Background(), &Call{Pipeline: rt.Plan.Pipeline(name), Input: pipeline.Input{Params: map[string]any{}, Consumer: id}})
	}
	if o := call("orders", "acme"); o.Err != nil || o.Cache != "miss" || string(o.JSON) != `{"s":"/tenants/acme/orders"}` {
		t.Fatalf("acme: %v %s %s", o.Err, o.Cache, o.JSON)
	}
	if o := call("orders", "globex"); o.Cache != "miss" || string(o.JSON) != `{"s":"/tenants/globex/orders"}` {
		t.Fatalf("globex got %s (%s): another tenant's answer", o.JSON, o.Cache)
	}
	if o := call("orders", "acme"); o.Cache != "hit" || string(o.JSON) != `{"s":"/tenants/acme/orders"}` {
		t.Errorf("acme's repeat: %s %s, want acme's own hit", o.Cache, o.JSON)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("%d upstream calls, want 2", got)
	}
	if rt.Plan.Pipeline("plain").ReadsClaims() || !rt.Plan.Pipeline("orders").ReadsClaims() {
		t.Fatal("ReadsClaims: want orders only")
	}
	call("plain", "acme")
	if o := call("plain", "globex"); o.Cache != "hit" || !strings.Contains(string(o.JSON), "alice") {
		t.Errorf("a pipeline that reads no claims: %s %s, want one entry for alice", o.Cache, o.JSON)
	}
}
