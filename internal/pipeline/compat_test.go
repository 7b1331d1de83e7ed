package pipeline_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// echoQueryHeaders answers the query and the X-Forwarded-For it got.
func echoQueryHeaders(t *testing.T) *backend {
	return newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"query": r.URL.Query(), "xff": r.Header.Get("X-Forwarded-For"), "lang": r.Header.Get("Accept-Language")})
	})
}

// TestUnknownQueryForward: undeclared query parameters reach the step as
// they came (repeated keys too); declared ones and the step's own query
// are not overwritten.
func TestUnknownQueryForward(t *testing.T) {
	b := echoQueryHeaders(t)
	rt := load(t, map[string]string{"api": b.URL}, `
name: fwd
path: /fwd
unknown_query: forward
params:
  a: {type: string}
steps:
  s: {upstream: api, path: /q, query: {fixed: "1", a: "${ .params.a }"}, select: .query}
`)
	p := rt.Plan.Pipeline("fwd")
	q := p.UndeclaredQuery(url.Values{"a": {"x"}, "b": {"2", "3"}, "fixed": {"9"}})
	if len(q) != 2 || len(q["b"]) != 2 || q["fixed"][0] != "9" {
		t.Fatalf("UndeclaredQuery = %v", q)
	}
	res, err := rt.Engine.Run(context.Background(), p, pipeline.Input{Params: map[string]any{"a": "x"}, Query: q})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.JSON); got != `{"s":{"a":["x"],"b":["2","3"],"fixed":["1"]}}` {
		t.Errorf("upstream query %s", got)
	}
	ignore := load(t, map[string]string{"api": b.URL}, "name: ign\npath: /ign\nsteps:\n  s: {upstream: api, path: /q}\n")
	if q := ignore.Plan.Pipeline("ign").UndeclaredQuery(url.Values{"b": {"2"}}); q != nil {
		t.Errorf("unknown_query: ignore forwards %v", q)
	}
}

// TestProxySendsCallerParts: a pass-through sends X-Forwarded-* and the
// headers it forwards like any step (KrakenD's test backend refuses a
// call without X-Forwarded-For).
func TestProxySendsCallerParts(t *testing.T) {
	b := echoQueryHeaders(t)
	rt := load(t, map[string]string{"api": b.URL}, `
name: pass
path: /pass
proxy: true
forward_headers: [Accept-Language]
steps:
  s: {upstream: api, path: /q}
`)
	in := pipeline.Input{
		Header: http.Header{"Accept-Language": {"de"}},
		Via:    func() http.Header { return http.Header{"X-Forwarded-For": {"127.0.0.1"}} },
		Query:  url.Values{"ignored": {"1"}},
	}
	pt, err := rt.Engine.Proxy(context.Background(), rt.Plan.Pipeline("pass"), in)
	if err != nil {
		t.Fatal(err)
	}
	defer pt.Body.Close()
	raw, _ := io.ReadAll(pt.Body)
	var got struct {
		XFF, Lang string
		Query     map[string]any
	}
	if err := json.Unmarshal(raw, &got); err != nil || got.XFF != "127.0.0.1" || got.Lang != "de" {
		t.Errorf("upstream saw %s (%v)", raw, err)
	}
}

// TestErrorsStepText: .errors.STEP holds a text answer's body as a
// string, and the answer's Content-Type.
func TestErrorsStepText(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "404 page not found", http.StatusNotFound)
	})
	rt := load(t, map[string]string{"api": b.URL}, `
name: txt
path: /txt
steps:
  s: {upstream: api, path: /missing, optional: true}
output: .errors.s
`)
	res, err := run(t, rt, "txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"body":"404 page not found\n","content_type":"text/plain; charset=utf-8","error":"upstream answered 404","status":404}`
	if string(res.JSON) != want {
		t.Errorf("got  %s\nwant %s", res.JSON, want)
	}
}

// TestForwardsBearer: only a public pipeline that names Authorization
// in forward_headers leaves the caller's token to its upstream.
func TestForwardsBearer(t *testing.T) {
	pipe := func(name, access, fwd string) string {
		return "name: " + name + "\npath: /" + name + "\naccess: " + access + "\nforward_headers: " + fwd +
			"\nsteps:\n  s: {upstream: api, path: /x}\n"
	}
	rt := load(t, map[string]string{"api": "http://127.0.0.1:1"},
		pipe("named", "public", "[Authorization]"),
		pipe("wild", "public", `["*"]`),
		pipe("roles", "{roles: [a]}", "[Authorization]"))
	for name, want := range map[string]bool{"named": true, "wild": false, "roles": false} {
		if got := rt.Plan.Pipeline(name).ForwardsBearer(); got != want {
			t.Errorf("%s: ForwardsBearer = %v, want %v", name, got, want)
		}
	}
}
