package pipeline_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestClaimsInExpressions: .consumer.claims reaches a backend path
// (escaped, and kept inside its segment), a header and the output.
func TestClaimsInExpressions(t *testing.T) {
	var path, tenant string
	orders := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		path, tenant = r.URL.EscapedPath(), r.Header.Get("X-Tenant")
		jsonHandler(`[{"id":1}]`)(w, r)
	})
	rt := load(t, map[string]string{"orders": orders.URL}, `
name: orders
path: /orders
steps:
  list:
    upstream: orders
    path: /tenants/${ .consumer.claims.tenant }/orders
    headers: {X-Tenant: "${ .consumer.claims.tenant }"}
output: '{tenant: .consumer.claims.tenant, plan: .consumer.claims.org.plan, orders: .list}'
`)
	p := rt.Plan.Pipeline("orders")
	runAs := func(claims map[string]any) (*pipeline.Result, error) {
		id := &pipeline.Identity{Name: "alice", Source: pipeline.IdentityJWT, Claims: claims}
		return rt.Engine.Run(context.Background(), p, pipeline.Input{Params: map[string]any{}, Consumer: id})
	}
	res, err := runAs(map[string]any{"tenant": "acme corp?", "org": map[string]any{"plan": "gold"}})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if path != "/tenants/acme%20corp%3F/orders" || tenant != "acme corp?" {
		t.Errorf("upstream got path %q, X-Tenant %q", path, tenant)
	}
	if got, want := string(res.JSON), `{"orders":[{"id":1}],"plan":"gold","tenant":"acme corp?"}`; got != want {
		t.Errorf("answer %s, want %s", got, want)
	}
	for _, bad := range []string{"../admin", "a/b"} {
		path = ""
		_, err := runAs(map[string]any{"tenant": bad})
		var pe *pipeline.PathValueError
		if !errors.As(err, &pe) || path != "" {
			t.Errorf("tenant %q: err %v, upstream path %q; want a refused path and no call", bad, err, path)
		}
	}
}

// TestClaimsOnlyWhenRead: a pipeline whose expressions do not name claims
// (nor .consumer as a whole) sees no claims, even through `..`; the
// detection errs towards reading.
func TestClaimsOnlyWhenRead(t *testing.T) {
	up := newBackend(t, jsonHandler(`{}`))
	cases := map[string]bool{
		`.consumer.name`:                    false,
		`[.consumer.roles, .consumer.name]`: false,
		`[.. | .tenant? // empty]`:          false,
		`.consumer.claims.tenant`:           true,
		`.consumer`:                         true,
		`.consumer | keys`:                  true,
		`.["consumer"]`:                     true,
		`.consumer as $c | $c.name`:         true,
		`"claims"`:                          true,
	}
	for expr, reads := range cases {
		t.Run(expr, func(t *testing.T) {
			rt := load(t, map[string]string{"up": up.URL}, `
name: p
path: /p
steps:
  s: {upstream: up, path: /}
output: '`+expr+`'
`)
			p := rt.Plan.Pipeline("p")
			if p.ReadsClaims() != reads {
				t.Errorf("ReadsClaims = %v, want %v", p.ReadsClaims(), reads)
			}
			id := &pipeline.Identity{Name: "alice", Claims: map[string]any{"tenant": "acme"}}
			res, err := rt.Engine.Run(context.Background(), p, pipeline.Input{Consumer: id})
			if err != nil {
				t.Fatal(err)
			}
			if expr == `[.. | .tenant? // empty]` && string(res.JSON) != `[]` {
				t.Errorf("claims reached by .. in a pipeline that does not read them: %s", res.JSON)
			}
		})
	}
}
