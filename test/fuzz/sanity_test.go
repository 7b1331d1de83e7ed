package fuzz

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestTargetsReachTheEngine: the valid seed of each target runs its
// pipeline to the end (200), and an invalid one is refused with a 400, so
// that the targets' checks of accepted values are not vacuous.
func TestTargetsReachTheEngine(t *testing.T) {
	g := newGateway(t)
	if a := g.serve(httptest.NewRequest(http.MethodGet, "/v1/items/Z%C3%BCrich", nil)); a.status != 200 ||
		!bytes.Contains(a.body, []byte(`"upstream_path":"/items/Z%C3%BCrich"`)) {
		t.Errorf("item: %d %s", a.status, a.body)
	}
	p := searchParams{q: "a&b", n: "5", x: "1.5", flag: "true", lang: "en", tag: "t1"}
	if a := g.serve(p.request()); a.status != 200 {
		t.Errorf("search: %d %s", a.status, a.body)
	} else {
		checkParams(t, p, "t1", a.body)
	}
	if a := g.serve(searchParams{n: "0"}.request()); a.status != 400 {
		t.Errorf("search n=0: %d %s, want 400", a.status, a.body)
	}
	order := `{"market_id":"m","items":[{"product_id":"p1","quantity":2}]}`
	r := httptest.NewRequest(http.MethodPost, "/v1/orders", bytes.NewReader([]byte(order)))
	r.Header.Set("Content-Type", "application/json")
	if a := g.serve(r); a.status != 200 || !bytes.Contains(a.body, []byte(`"upstream_body":{"items"`)) {
		t.Errorf("order: %d %s", a.status, a.body)
	}
	args := typedArgs("milk", "5", "", "true", "de")
	raw, _ := json.Marshal(args)
	if _, status, code := g.gqlRun(t, "search", raw); status != 200 || g.restStatus(args) != 200 {
		t.Errorf("GraphQL run: %d %s", status, code)
	}
	if _, status, code := g.gqlRun(t, "search", []byte(`{"n":0}`)); status != 400 || code != "BAD_USER_INPUT" {
		t.Errorf("GraphQL run n=0: %d %s, want 400 BAD_USER_INPUT", status, code)
	}
	s := g.mcpSession(t)
	if ta := s.call(t, "search", raw); ta.status != 200 || ta.data["params"].(map[string]any)["q"] != "milk" {
		t.Errorf("MCP search: %d %s", ta.status, ta.http.body)
	}
	if ta := s.call(t, "search", []byte(`{"n":0}`)); ta.status != 400 {
		t.Errorf("MCP search n=0: %d %s, want 400", ta.status, ta.http.body)
	}
}
