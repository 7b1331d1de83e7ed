package security

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/manifoldgw/manifold/internal/launch"
	mcpserver "github.com/manifoldgw/manifold/internal/mcp"
)

// pathLog is a backend that logs the escaped path of every request and
// answers with a fixed JSON body.
type pathLog struct {
	mu     sync.Mutex
	paths  []string
	answer string
}

func (b *pathLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.paths = append(b.paths, r.URL.EscapedPath())
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, b.answer)
}

func (b *pathLog) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.paths)
}

// serveFiles serves pipelines (file name to YAML) against a pathLog
// backend mounted as upstream "api" at <backend>/api/v1.
func serveFiles(t *testing.T, answer string, pipelines map[string]string) (string, *pathLog) {
	t.Helper()
	backend := &pathLog{answer: answer}
	srv := httptest.NewServer(backend)
	t.Cleanup(srv.Close)
	files := map[string]string{"gateway.yaml": fmt.Sprintf("upstreams:\n  api: {url: %q}\n", srv.URL+"/api/v1")}
	for name, content := range pipelines {
		files[name] = content
	}
	plan := loadFiles(t, files)
	base, _ := serve(t, plan, launch.Options{})
	return base, backend
}

// gqlProblem posts a GraphQL document and returns the first error's
// extensions (nil when the operation succeeded).
func gqlProblem(t *testing.T, base, doc string, vars map[string]any, headers ...string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": doc, "variables": vars})
	a := do(t, request(t, "POST", base+"/graphql", string(body), headers...))
	var r struct {
		Errors []struct {
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(a.body, &r); err != nil {
		t.Fatalf("POST /graphql: %d %s", a.status, a.body)
	}
	if len(r.Errors) == 0 {
		return nil
	}
	return r.Errors[0].Extensions
}

// mcpProblem calls a tool with the SDK's client and returns the problem
// of the tool error (nil when the call succeeded).
func mcpProblem(t *testing.T, base, tool string, args map[string]any) map[string]any {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "attacker", Version: "1"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: base + "/mcp"}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("tools/call: %v", err)
	}
	if !res.IsError {
		return nil
	}
	raw, _ := json.Marshal(res.Meta[mcpserver.MetaProblem])
	var p map[string]any
	_ = json.Unmarshal(raw, &p)
	return p
}

// firstEntry is the first {in, name, reason} of a problem, as "in name: reason".
func firstEntry(p map[string]any) string {
	list, _ := p["errors"].([]any)
	if len(list) == 0 {
		return ""
	}
	e, _ := list[0].(map[string]any)
	return fmt.Sprintf("%v %v: %v", e["in"], e["name"], e["reason"])
}

// TestAttackPathTraversalThroughParams replays finding 4: a parameter
// interpolated into an upstream path segment carried ../ (or a
// backslash) to the upstream as %2F, which an nginx-style front resolves
// to another resource. Every surface now refuses it with a 400 naming the
// parameter, and the upstream never hears of it.
func TestAttackPathTraversalThroughParams(t *testing.T) {
	base, backend := serveFiles(t, `{"ok":true}`, map[string]string{"files.yaml": `
name: fileMeta
path: /v1/files
access: public
params:
  name: {in: query, type: string, required: true}
steps:
  meta: {upstream: api, path: "/files/${ .params.name }/meta"}
output: .meta
`})
	for _, value := range []string{"../../../admin/users", "a/b", "..", `a\b`, "..%2F..%2Fadmin"} {
		t.Run(value, func(t *testing.T) {
			q := strings.NewReplacer("%", "%25", "/", "%2F", `\`, "%5C").Replace(value)
			rest := do(t, request(t, "GET", base+"/v1/files?name="+q, ""))
			var p map[string]any
			_ = json.Unmarshal(rest.body, &p)
			if rest.status != http.StatusBadRequest || rest.problemType() != "bad-request" || !strings.HasPrefix(firstEntry(p), "query name: must not") {
				t.Errorf("REST: %d %s, want a 400 naming the parameter", rest.status, rest.body)
			}
			gql := gqlProblem(t, base, `{ run(pipeline: "fileMeta", params: {name: `+jsonString(value)+`}) { status } }`, nil)
			if gql["code"] != "BAD_USER_INPUT" || firstEntry(gql) != firstEntry(p) {
				t.Errorf("GraphQL: %v, want BAD_USER_INPUT with %q", gql, firstEntry(p))
			}
			tool := mcpProblem(t, base, "fileMeta", map[string]any{"name": value})
			if tool["status"] != float64(http.StatusBadRequest) || firstEntry(tool) != firstEntry(p) {
				t.Errorf("MCP: %v, want a 400 with %q", tool, firstEntry(p))
			}
		})
	}
	if seen := backend.seen(); len(seen) != 0 {
		t.Errorf("the upstream was called: %q", seen)
	}
	// The same pipeline still serves an ordinary name, in one segment.
	if a := do(t, request(t, "GET", base+"/v1/files?name=report%202024.pdf", "")); a.status != http.StatusOK {
		t.Fatalf("a good name: %d %s", a.status, a.body)
	}
	if seen := backend.seen(); !slices.Equal(seen, []string{"/api/v1/files/report%202024.pdf/meta"}) {
		t.Errorf("upstream paths %q", seen)
	}
}

// jsonString writes s as a JSON (and GraphQL) string literal.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestAttackUpstreamValueLeavesSegment: a value an upstream answered
// ("../../admin") is interpolated into the next step's path. It is never
// sent: the call fails with a 502 naming the step, not blaming the caller.
func TestAttackUpstreamValueLeavesSegment(t *testing.T) {
	base, backend := serveFiles(t, `{"id":"../../admin"}`, map[string]string{"chain.yaml": `
name: chain
path: /v1/chain
access: public
steps:
  user: {upstream: api, path: /me}
  orders: {upstream: api, needs: [user], path: "/users/${ .user.id }/orders"}
`})
	a := do(t, request(t, "GET", base+"/v1/chain", ""))
	var p struct{ Step, Detail string }
	_ = json.Unmarshal(a.body, &p)
	if a.status != http.StatusBadGateway || a.problemType() != "unsafe-upstream-path" || p.Step != "orders" {
		t.Errorf("%d %s, want a 502 unsafe-upstream-path naming step orders", a.status, a.body)
	}
	if seen := backend.seen(); !slices.Equal(seen, []string{"/api/v1/me"}) {
		t.Errorf("upstream paths %q, want only /api/v1/me", seen)
	}
}

// TestAttackGraphQLMutationSkipsBodySchema replays finding 5: the demo's
// placeOrder body with an unknown member, a negative quantity or 60 items
// went through `mutation run` to the backend, while REST and MCP refused
// it. Now GraphQL refuses it the same way, and nothing is ordered.
func TestAttackGraphQLMutationSkipsBodySchema(t *testing.T) {
	order, err := os.ReadFile("../../pipelines/place-order.yaml")
	if err != nil {
		t.Fatal(err)
	}
	orderYAML := strings.Replace(string(order), "upstream: deals", "upstream: api", 1)
	orderYAML = strings.Replace(orderYAML, "access: {roles: [buyer], rate: 30/min}", "access: public", 1)
	base, backend := serveFiles(t, `{"id":"o1"}`, map[string]string{"place-order.yaml": orderYAML})
	line := func(qty any) map[string]any { return map[string]any{"product_id": "p1001", "quantity": qty} }
	many := make([]any, 60)
	for i := range many {
		many[i] = line(1)
	}
	const mutation = `mutation($b: JSON) { run(pipeline: "placeOrder", body: $b) { status } }`
	for _, c := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"extra member", map[string]any{"market_id": "ber-01", "items": []any{line(1)}, "price_override": 0}, "body /price_override: is not allowed (unknown member)"},
		{"negative quantity", map[string]any{"market_id": "ber-01", "items": []any{line(-5)}}, "body /items/0/quantity: must be at least 1"},
		{"60 items", map[string]any{"market_id": "ber-01", "items": many}, "body /items: must have at most 50 items"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ext := gqlProblem(t, base, mutation, map[string]any{"b": c.body})
			if ext["code"] != "BAD_USER_INPUT" || ext["status"] != float64(http.StatusBadRequest) || firstEntry(ext) != c.want {
				t.Errorf("GraphQL: %v, want BAD_USER_INPUT with %q", ext, c.want)
			}
			raw, _ := json.Marshal(c.body)
			rest := do(t, request(t, "POST", base+"/v1/orders", string(raw)))
			var p map[string]any
			_ = json.Unmarshal(rest.body, &p)
			if rest.status != http.StatusBadRequest || firstEntry(p) != c.want {
				t.Errorf("REST: %d %s, want the same entry %q", rest.status, rest.body, c.want)
			}
		})
	}
	if seen := backend.seen(); len(seen) != 0 {
		t.Errorf("orders reached the backend: %q", seen)
	}
}
