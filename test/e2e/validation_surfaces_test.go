package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	mcpserver "github.com/manifoldgw/manifold/internal/mcp"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// pathRecorder answers every request with {"ok":true} and remembers
// the escaped path of each.
type pathRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (b *pathRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.paths = append(b.paths, r.URL.EscapedPath())
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

func (b *pathRecorder) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.paths)
}

// surfacesDir serves the demo's placeOrder contract (made public) and
// two pipelines that interpolate parameters into an upstream path: files
// one segment, docs a tail (allow_slashes).
func surfacesDir(t *testing.T) (string, *pathRecorder) {
	t.Helper()
	backend := &pathRecorder{}
	srv := httptest.NewServer(backend)
	t.Cleanup(srv.Close)
	order, err := os.ReadFile("../../pipelines/place-order.yaml")
	if err != nil {
		t.Fatal(err)
	}
	orderYAML := strings.Replace(string(order), "access: {roles: [buyer], rate: 30/min}", "access: public", 1)
	if orderYAML == string(order) {
		t.Fatal("the demo's placeOrder access line changed: update this test")
	}
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml":     fmt.Sprintf("upstreams:\n  deals: {url: %q}\n", srv.URL),
		"place-order.yaml": orderYAML,
		"files.yaml": `
name: fileMeta
summary: A file's metadata
path: /v1/files
unknown_query: reject
access: public
params:
  name:  {in: query, type: string, required: true}
  limit: {in: query, type: integer, default: 5, minimum: 1, maximum: 20}
  lang:  {in: query, type: string, default: en, enum: [en, de]}
steps:
  meta: {upstream: deals, path: "/api/v1/files/${ .params.name }/meta"}
output: .meta
`,
		"docs.yaml": `
name: doc
summary: A document by its path
path: /v1/docs
access: public
params:
  tail: {in: query, type: string, required: true, allow_slashes: true}
steps:
  d: {upstream: deals, path: "/docs/${ .params.tail }"}
output: .d
`,
	})
	return base, backend
}

// refusal is what a surface answered: the problem's status and entries.
type refusal struct {
	status  int
	entries []pipeline.ParamProblem
}

// surfaceCall is one input, as each surface takes it.
type surfaceCall struct {
	pipeline string
	params   map[string]any
	body     any // nil: none
}

// viaREST sends c as a REST request.
func viaREST(t *testing.T, base string, c surfaceCall) refusal {
	t.Helper()
	q := url.Values{}
	for k, v := range c.params {
		q.Set(k, fmt.Sprint(v))
	}
	method, path, body := http.MethodGet, map[string]string{"fileMeta": "/v1/files", "doc": "/v1/docs"}[c.pipeline], io.Reader(nil)
	if c.pipeline == "placeOrder" {
		method, path = http.MethodPost, "/v1/orders"
		raw, _ := json.Marshal(c.body)
		body = strings.NewReader(string(raw))
	}
	req, _ := http.NewRequest(method, base+path+"?"+q.Encode(), body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct {
		Errors []pipeline.ParamProblem `json:"errors"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&p)
	if resp.StatusCode == http.StatusOK {
		return refusal{status: http.StatusOK}
	}
	return refusal{status: resp.StatusCode, entries: p.Errors}
}

// viaGraphQL runs c with Query.run, or Mutation.run for placeOrder.
func viaGraphQL(t *testing.T, base string, c surfaceCall) refusal {
	t.Helper()
	doc := `query($p: String!, $params: JSON) { run(pipeline: $p, params: $params) { status } }`
	vars := map[string]any{"p": c.pipeline, "params": c.params}
	if c.pipeline == "placeOrder" {
		doc = `mutation($p: String!, $params: JSON, $body: JSON) { run(pipeline: $p, params: $params, body: $body) { status } }`
		vars["body"] = c.body
	}
	r := graphql(t, base, doc, vars, "")
	if len(r.Errors) == 0 {
		var d struct{ Run struct{ Status int } }
		_ = json.Unmarshal(r.Data, &d)
		return refusal{status: d.Run.Status}
	}
	ext := r.Errors[0].Extensions
	status, _ := ext["status"].(float64)
	raw, _ := json.Marshal(ext["errors"])
	var entries []pipeline.ParamProblem
	_ = json.Unmarshal(raw, &entries)
	return refusal{status: int(status), entries: entries}
}

// viaMCP calls c's tool, the body under the "body" argument.
func viaMCP(t *testing.T, cs *mcp.ClientSession, c surfaceCall) refusal {
	t.Helper()
	args := map[string]any{}
	for k, v := range c.params {
		args[k] = v
	}
	if c.body != nil {
		args["body"] = c.body
	}
	res := callTool(t, cs, c.pipeline, args)
	if !res.IsError {
		return refusal{status: http.StatusOK}
	}
	raw, _ := json.Marshal(res.Meta[mcpserver.MetaProblem])
	var p struct {
		Status int                     `json:"status"`
		Errors []pipeline.ParamProblem `json:"errors"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("tool error without a problem: %s", text(res))
	}
	return refusal{status: p.Status, entries: p.Errors}
}

// items is n order lines.
func items(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"product_id": "p1001", "quantity": 1}
	}
	return out
}

// TestValidationSameOnEverySurface sends each invalid input through REST,
// GraphQL and MCP: all three refuse it with the same status and the same
// {in, name, reason} entries, and the backend is never called. A valid
// input passes on all three.
func TestValidationSameOnEverySurface(t *testing.T) {
	base, backend := surfacesDir(t)
	cs := connect(t, base, nil, nil)
	type entry = pipeline.ParamProblem
	file := func(name string) map[string]any { return map[string]any{"name": name} }
	const oneSegment = `must not contain "/": it is one segment of an upstream path`
	order := func(extra map[string]any) map[string]any {
		o := map[string]any{"market_id": "ber-01", "items": items(1)}
		for k, v := range extra {
			o[k] = v
		}
		return o
	}
	cases := []struct {
		name string
		call surfaceCall
		want []entry
	}{
		{"unknown param", surfaceCall{pipeline: "fileMeta", params: map[string]any{"name": "a", "debug": "1"}},
			[]entry{{In: "query", Name: "debug", Reason: "unknown parameter"}}},
		{"wrong type", surfaceCall{pipeline: "fileMeta", params: map[string]any{"name": "a", "limit": "ten"}},
			[]entry{{In: "query", Name: "limit", Reason: `"ten" is not an integer`}}},
		{"out of range", surfaceCall{pipeline: "fileMeta", params: map[string]any{"name": "a", "limit": 21}},
			[]entry{{In: "query", Name: "limit", Reason: "must be at most 20"}}},
		{"out of enum", surfaceCall{pipeline: "fileMeta", params: map[string]any{"name": "a", "lang": "fr"}},
			[]entry{{In: "query", Name: "lang", Reason: "must be one of en, de"}}},
		{"missing required", surfaceCall{pipeline: "fileMeta", params: map[string]any{"lang": "de"}},
			[]entry{{In: "query", Name: "name", Reason: "required"}}},
		{"traversal", surfaceCall{pipeline: "fileMeta", params: file("../../../admin/users")},
			[]entry{{In: "query", Name: "name", Reason: oneSegment}}},
		{"slash", surfaceCall{pipeline: "fileMeta", params: file("a/b")},
			[]entry{{In: "query", Name: "name", Reason: oneSegment}}},
		{"dot dot", surfaceCall{pipeline: "fileMeta", params: file("..")},
			[]entry{{In: "query", Name: "name", Reason: `must not be "." or "..": it is one segment of an upstream path`}}},
		{"backslash", surfaceCall{pipeline: "fileMeta", params: file(`a\b`)},
			[]entry{{In: "query", Name: "name", Reason: "must not contain a backslash: it is part of an upstream path"}}},
		{"encoded twice", surfaceCall{pipeline: "fileMeta", params: file("..%2Fadmin")},
			[]entry{{In: "query", Name: "name", Reason: oneSegment + " (once percent-decoded)"}}},
		{"tail with a dot segment", surfaceCall{pipeline: "doc", params: map[string]any{"tail": "guides/../admin"}},
			[]entry{{In: "query", Name: "tail", Reason: `must not have a "." or ".." segment`}}},
		{"tail from the root", surfaceCall{pipeline: "doc", params: map[string]any{"tail": "/etc/passwd"}},
			[]entry{{In: "query", Name: "tail", Reason: `must not have an empty segment (a leading, trailing or double "/")`}}},
		{"body with an extra field", surfaceCall{pipeline: "placeOrder", body: order(map[string]any{"discount": 100})},
			[]entry{{In: "body", Name: "/discount", Reason: "is not allowed (unknown member)"}}},
		{"negative quantity", surfaceCall{pipeline: "placeOrder", body: order(map[string]any{"items": []any{map[string]any{"product_id": "p1001", "quantity": -5}}})},
			[]entry{{In: "body", Name: "/items/0/quantity", Reason: "must be at least 1"}}},
		{"60 items", surfaceCall{pipeline: "placeOrder", body: order(map[string]any{"items": items(60)})},
			[]entry{{In: "body", Name: "/items", Reason: "must have at most 50 items"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(backend.seen())
			for surface, got := range map[string]refusal{
				"REST":    viaREST(t, base, c.call),
				"GraphQL": viaGraphQL(t, base, c.call),
				"MCP":     viaMCP(t, cs, c.call),
			} {
				if got.status != http.StatusBadRequest || !slices.Equal(got.entries, c.want) {
					t.Errorf("%s: %d %+v\n want 400 %+v", surface, got.status, got.entries, c.want)
				}
			}
			if after := backend.seen(); len(after) != before {
				t.Errorf("the backend was called for a refused input: %q", after[before:])
			}
		})
	}
	t.Run("the document shows the path tail", func(t *testing.T) {
		a := get(t, base+"/openapi.json")
		if !strings.Contains(string(a.body), `"x-manifold-allow-slashes":true`) {
			t.Errorf("/openapi.json does not mark doc's tail parameter: %s", a.body)
		}
	})
	t.Run("valid input passes", func(t *testing.T) {
		valid := []struct {
			call surfaceCall
			path string
		}{
			{surfaceCall{pipeline: "fileMeta", params: map[string]any{"name": "report 2024.pdf", "limit": 3}}, "/api/v1/files/report%202024.pdf/meta"},
			{surfaceCall{pipeline: "doc", params: map[string]any{"tail": "guides/2024/intro"}}, "/docs/guides/2024/intro"},
			{surfaceCall{pipeline: "placeOrder", body: order(nil)}, "/orders"},
		}
		for _, v := range valid {
			before := len(backend.seen())
			for surface, got := range map[string]refusal{
				"REST":    viaREST(t, base, v.call),
				"GraphQL": viaGraphQL(t, base, v.call),
				"MCP":     viaMCP(t, cs, v.call),
			} {
				if got.status != http.StatusOK {
					t.Errorf("%s %s: %d %+v, want 200", surface, v.call.pipeline, got.status, got.entries)
				}
			}
			if got := backend.seen()[before:]; !slices.Equal(got, []string{v.path, v.path, v.path}) {
				t.Errorf("%s: the backend saw %q, want %s once per surface", v.call.pipeline, got, v.path)
			}
		}
	})
}
