package e2e

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/event"
	mcpserver "github.com/manifoldgw/manifold/internal/mcp"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/pipelines"
)

// Pipelines added to the demo set for the MCP tests: one only buyers may
// call, with a body, and one whose answer is not an object.
const (
	placeOrderYAML = `
name: placeOrder
summary: Order a product for pickup
description: Orders a product for pickup at a market. Only buyers may call it.
method: POST
path: /v1/orders
access: {roles: [buyer]}
params:
  market: {in: query, type: string, required: true, pattern: "^m[0-9]+$", description: Market id}
body:
  description: The order
  schema: {type: object, required: [sku, qty], properties: {sku: {type: string}, qty: {type: integer, minimum: 1}}}
steps:
  order: {upstream: orders, method: POST, path: /orders, body: "${ .body + {market: .params.market} }"}
output: .order
response:
  schema: {type: object, properties: {sku: {type: string}, qty: {type: integer}, market: {type: string}}}
`
	marketCountYAML = `
name: marketCount
summary: How many markets a city has
method: GET
path: /v1/cities/{city}/market-count
params:
  city: {in: path, type: string, description: City name}
steps:
  markets: {upstream: markets, path: /markets, query: {city: "${ .params.city }", limit: 20}, select: .markets}
output: .markets | length
response:
  schema: {type: integer}
`
)

// rolesAuth stands in for the gateway's authenticator: X-Test-Consumer
// names the caller, X-Test-Roles lists its roles; no header, anonymous.
type rolesAuth struct{}

func (rolesAuth) Authenticate(r *http.Request) (*pipeline.Identity, error) {
	name := r.Header.Get("X-Test-Consumer")
	if name == "" {
		return nil, nil
	}
	return &pipeline.Identity{Name: name, Roles: strings.Split(r.Header.Get("X-Test-Roles"), ",")}, nil
}

// calls collects the recorded calls.
type calls chan *event.Call

func (c calls) Record(_ context.Context, ev *event.Call) { c <- ev }

// next returns the next recorded call of pipeline.
func (c calls) next(t *testing.T, pipeline string) *event.Call {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-c:
			if ev.Pipeline == pipeline {
				return ev
			}
		case <-deadline:
			t.Fatalf("no call of %s was recorded", pipeline)
		}
	}
}

type mcpGateway struct {
	url    string
	srv    *server.Server
	calls  calls
	loadFS func(extra map[string]string) *pipeline.Plan
	env    map[string]string
}

// startMCPGateway serves the demo pipelines plus the test ones with the
// MCP surface, a test authenticator and a recorder. translationDown points
// the translation upstream at a closed port.
func startMCPGateway(t *testing.T, translationDown bool) *mcpGateway {
	t.Helper()
	backends, err := demo.Start(demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backends.Shutdown(context.Background()) })
	orders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, r.Body)
	}))
	t.Cleanup(orders.Close)
	env := backends.Env()
	env["ORDERS_URL"] = orders.URL
	if translationDown {
		env["MANIFOLD_DEMO_TRANSLATION_URL"] = closedURL(t)
	}
	g := &mcpGateway{calls: make(calls, 256), env: env}
	g.loadFS = func(extra map[string]string) *pipeline.Plan {
		t.Helper()
		fsys := fstest.MapFS{}
		files, _ := fs.Glob(pipelines.FS, "*.yaml")
		docs, _ := fs.Glob(pipelines.FS, "openapi/*.yaml") // the upstreams' documents
		files = append(files, "logo.png", "legal.md")      // plugin.logo, plugin.legal
		for _, name := range append(files, docs...) {
			b, _ := fs.ReadFile(pipelines.FS, name)
			if name == "gateway.yaml" {
				ups := "upstreams:\n  orders: {url: \"${ORDERS_URL}\"}\n" + extra["upstreams"]
				b = []byte(strings.Replace(string(b), "upstreams:\n", ups, 1))
			}
			fsys[name] = &fstest.MapFile{Data: b}
		}
		for name, content := range extra {
			if strings.HasSuffix(name, ".yaml") {
				fsys[name] = &fstest.MapFile{Data: []byte(content)}
			}
		}
		plan, err := pipeline.Load(fsys, "pipelines", pipeline.LoadOptions{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		return plan
	}
	rt := g.build(t, map[string]string{"place-order.yaml": placeOrderYAML, "market-count.yaml": marketCountYAML})
	g.srv = server.New(rt, server.Options{
		Auth: rolesAuth{}, Recorder: g.calls,
		Surfaces: []server.Surface{mcpserver.New(mcpserver.Options{Spec: func(p *pipeline.Plan) ([]byte, error) {
			return json.Marshal(map[string]any{"openapi": "3.1.0", "pipelines": len(p.Pipelines)})
		}})},
	})
	ts := httptest.NewServer(g.srv)
	t.Cleanup(ts.Close)
	g.url = ts.URL
	return g
}

func (g *mcpGateway) build(t *testing.T, extra map[string]string) *server.Runtime {
	t.Helper()
	rt, err := server.Build(g.loadFS(extra), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt
}

func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	_ = ln.Close()
	return url
}

// headers adds fixed headers to every request of an MCP session.
type headers map[string]string

func (h headers) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// connect opens an MCP session with the SDK's client over HTTP.
func connect(t *testing.T, url string, h headers, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "test"}, opts)
	transport := &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: &http.Client{Transport: h}}
	cs, err := client.Connect(context.Background(), transport, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func listTools(t *testing.T, cs *mcp.ClientSession) map[string]*mcp.Tool {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	out := map[string]*mcp.Tool{}
	for _, tool := range res.Tools {
		out[tool.Name] = tool
	}
	return out
}

func callTool(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("tools/call %s: a protocol error instead of a tool result: %v", name, err)
	}
	return res
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func names(tools map[string]*mcp.Tool) []string {
	var out []string
	for n := range tools {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// jsonOf re-encodes v and decodes it as generic JSON, to compare shapes.
func jsonOf(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMCPToolList(t *testing.T) {
	g := startMCPGateway(t, false)
	demoTools := []string{"cityDeals", "marketCount", "nearestMarkets", "productSearch"}
	for _, c := range []struct {
		name string
		h    headers
		want []string
	}{
		{"anonymous sees the public tools", nil, demoTools},
		{"a reader sees the same", headers{"X-Test-Consumer": "rita", "X-Test-Roles": "reader"}, demoTools},
		{"a buyer also sees placeOrder", headers{"X-Test-Consumer": "bob", "X-Test-Roles": "buyer"}, append([]string{"placeOrder"}, demoTools...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := names(listTools(t, connect(t, g.url, c.h, nil)))
			slices.Sort(c.want)
			if !slices.Equal(got, c.want) {
				t.Errorf("tools %v, want %v", got, c.want)
			}
		})
	}

	tools := listTools(t, connect(t, g.url, headers{"X-Test-Consumer": "bob", "X-Test-Roles": "buyer"}, nil))
	t.Run("cityDeals schema", func(t *testing.T) {
		cd := tools["cityDeals"]
		if cd.Title != "Current deals at markets in a city" || !strings.HasPrefix(cd.Description, "Lists the markets of a city") {
			t.Errorf("title %q description %q", cd.Title, cd.Description)
		}
		want := map[string]any{
			"type": "object",
			"properties": map[string]any{
				"city":  map[string]any{"type": "string", "description": "City name", "examples": []any{"Berlin"}},
				"lang":  map[string]any{"type": "string", "description": "Language of product names", "enum": []any{"en", "de", "fr", "es"}, "default": "en"},
				"limit": map[string]any{"type": "integer", "description": "Markets to return at most", "default": 5.0, "minimum": 1.0, "maximum": 20.0},
			},
			"required":             []any{"city"},
			"additionalProperties": false,
		}
		if got := jsonOf(t, cd.InputSchema); !jsonEqual(got, want) {
			t.Errorf("inputSchema\n got %v\nwant %v", got, want)
		}
		if out, _ := cd.OutputSchema.(map[string]any); out["type"] != "object" || out["properties"].(map[string]any)["markets"] == nil {
			t.Errorf("outputSchema %v, want the pipeline's response schema", cd.OutputSchema)
		}
		a := cd.Annotations
		if a == nil || !a.ReadOnlyHint || !a.IdempotentHint || a.DestructiveHint == nil || *a.DestructiveHint || a.OpenWorldHint == nil || !*a.OpenWorldHint {
			t.Errorf("annotations %+v, want read-only, idempotent, not destructive, open world", a)
		}
	})
	t.Run("placeOrder takes a body and is not read-only", func(t *testing.T) {
		po := tools["placeOrder"]
		in := jsonOf(t, po.InputSchema).(map[string]any)
		body := in["properties"].(map[string]any)["body"].(map[string]any)
		if !jsonEqual(in["required"], []any{"market", "body"}) || body["type"] != "object" || body["description"] != "The order" {
			t.Errorf("inputSchema %v: want market and body required, body the declared schema", in)
		}
		if a := po.Annotations; a.ReadOnlyHint || a.IdempotentHint || *a.DestructiveHint {
			t.Errorf("annotations %+v, want a POST: not read-only, not idempotent, additive", a)
		}
	})
	t.Run("the list is private to its caller", func(t *testing.T) {
		res, err := connect(t, g.url, nil, nil).ListTools(context.Background(), nil)
		if err != nil || res.CacheScope != "private" {
			t.Errorf("cacheScope %q (%v), want private: lists depend on roles", res.CacheScope, err)
		}
	})
	t.Run("a non-object answer is wrapped under result", func(t *testing.T) {
		want := map[string]any{"type": "object", "properties": map[string]any{"result": map[string]any{"type": "integer"}}, "required": []any{"result"}}
		if got := jsonOf(t, tools["marketCount"].OutputSchema); !jsonEqual(got, want) {
			t.Errorf("outputSchema %v, want %v", got, want)
		}
	})
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// checkStructured checks a successful result: structured content valid
// against the tool's output schema, and the same JSON as the text.
func checkStructured(t *testing.T, tool *mcp.Tool, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	if res.IsError {
		t.Fatalf("isError: %s", text(res))
	}
	var schema jsonschema.Schema
	raw, _ := json.Marshal(tool.OutputSchema)
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	rs, err := schema.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	structured := jsonOf(t, res.StructuredContent)
	if err := rs.Validate(structured); err != nil {
		t.Errorf("structured content does not match the output schema: %v", err)
	}
	lines := strings.Split(text(res), "\n")
	var fromText any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &fromText); err != nil {
		t.Errorf("text is not the JSON answer: %v\n%s", err, text(res))
	}
	m, _ := structured.(map[string]any)
	return m
}

func TestMCPCallTools(t *testing.T) {
	g := startMCPGateway(t, false)
	cs := connect(t, g.url, headers{"X-Test-Consumer": "alice", "X-Test-Roles": "reader"}, nil)
	tools := listTools(t, cs)

	t.Run("cityDeals", func(t *testing.T) {
		res := callTool(t, cs, "cityDeals", map[string]any{"city": "Berlin", "lang": "de", "limit": 3})
		got := checkStructured(t, tools["cityDeals"], res)
		if got["city"] != "Berlin" || len(got["markets"].([]any)) != 3 {
			t.Errorf("structured %v, want Berlin with 3 markets", got)
		}
		if strings.HasPrefix(text(res), "Incomplete") || res.Meta[mcpserver.MetaIncomplete] != nil {
			t.Errorf("a healthy answer is marked incomplete: %s", text(res))
		}
	})
	t.Run("productSearch", func(t *testing.T) {
		res := callTool(t, cs, "productSearch", map[string]any{"q": "milk", "lang": "fr", "limit": "2"})
		got := checkStructured(t, tools["productSearch"], res)
		products, _ := got["products"].([]any)
		if got["query"] != "milk" || len(products) == 0 || len(products) > 2 {
			t.Fatalf("structured %v, want at most 2 products for milk", got)
		}
		if p := products[0].(map[string]any); p["translated_name"] == p["name"] {
			t.Errorf("product %v is not translated into French", p)
		}
		ev := g.calls.next(t, "productSearch")
		if ev.Surface != event.SurfaceMCP || ev.Status != 200 || ev.Consumer != "alice" || ev.Method != "GET" ||
			ev.Path != "/v1/products" || ev.RequestID == "" || ev.Client != "127.0.0.1" || !ev.Complete {
			t.Errorf("recorded call %+v, want surface mcp, 200, consumer alice, request id and client", ev)
		}
		var steps []string
		for _, s := range ev.Steps {
			steps = append(steps, s.Name)
		}
		if !slices.Equal(steps, []string{"search", "deals", "translate"}) {
			t.Errorf("recorded steps %v, want search, deals, translate", steps)
		}
	})
	t.Run("a non-object answer", func(t *testing.T) {
		res := callTool(t, cs, "marketCount", map[string]any{"city": "Paris"})
		if got := checkStructured(t, tools["marketCount"], res); got["result"] == nil || got["result"].(float64) < 1 {
			t.Errorf("structured %v, want {result: count}", got)
		}
	})
	t.Run("the OpenAPI document is a resource", func(t *testing.T) {
		res, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: mcpserver.SpecURI})
		if err != nil || len(res.Contents) != 1 || res.Contents[0].MIMEType != "application/json" || !strings.Contains(res.Contents[0].Text, `"openapi"`) {
			t.Errorf("resources/read: %v %+v", err, res)
		}
	})
}

func TestMCPToolErrors(t *testing.T) {
	g := startMCPGateway(t, false)
	buyer := headers{"X-Test-Consumer": "bob", "X-Test-Roles": "buyer"}
	order := map[string]any{"sku": "p1001", "qty": 2}
	for _, c := range []struct {
		name   string
		h      headers
		tool   string
		args   map[string]any
		status int
		lines  []string
	}{
		{"bad arguments, every one named", nil, "cityDeals", map[string]any{"city": "Berlin", "lang": "xx", "limit": 50, "colour": "red"}, 400,
			[]string{"- lang: must be one of en, de, fr, es", "- limit: must be at most 20", "- colour: unknown parameter"}},
		{"a required argument missing", nil, "productSearch", map[string]any{"lang": "de"}, 400, []string{"- q: required"}},
		{"a wrong JSON type", nil, "cityDeals", map[string]any{"city": "Berlin", "limit": true}, 400, []string{"- limit: true is not an integer"}},
		{"anonymous calls a buyer's tool", nil, "placeOrder", map[string]any{"market": "m1", "body": order}, 401, []string{"needs an API key or bearer token"}},
		{"a reader calls a buyer's tool", headers{"X-Test-Consumer": "rita", "X-Test-Roles": "reader"}, "placeOrder", map[string]any{"market": "m1", "body": order}, 403, []string{"consumer rita lacks a role"}},
		{"the body missing", buyer, "placeOrder", map[string]any{"market": "m1"}, 400, []string{"- body: a JSON request body is required"}},
		{"the body against its schema", buyer, "placeOrder", map[string]any{"market": "m1", "body": map[string]any{"sku": "p1001", "qty": 0}}, 400, []string{"- /qty: must be at least 1"}},
		{"an unknown city", nil, "cityDeals", map[string]any{"city": "Atlantis"}, 404, []string{"Error 404"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := callTool(t, connect(t, g.url, c.h, nil), c.tool, c.args)
			got := text(res)
			for _, line := range c.lines {
				if !strings.Contains(got, line) {
					t.Errorf("text lacks %q:\n%s", line, got)
				}
			}
			var pr struct {
				Type   string `json:"type"`
				Status int    `json:"status"`
			}
			raw, _ := json.Marshal(res.Meta[mcpserver.MetaProblem])
			if err := json.Unmarshal(raw, &pr); err != nil || !res.IsError || pr.Status != c.status || res.StructuredContent != nil {
				t.Errorf("isError %v, problem %s, structured %v; want a tool error with a %d problem", res.IsError, raw, res.StructuredContent, c.status)
			}
			if ev := g.calls.next(t, c.tool); ev.Surface != event.SurfaceMCP || ev.Status != c.status || ev.Problem != pr.Type {
				t.Errorf("recorded %s %d %q, want mcp %d %q", ev.Surface, ev.Status, ev.Problem, c.status, pr.Type)
			}
		})
	}
	t.Run("a buyer places an order", func(t *testing.T) {
		res := callTool(t, connect(t, g.url, buyer, nil), "placeOrder", map[string]any{"market": "m1", "body": order})
		if got := jsonOf(t, res.StructuredContent); res.IsError || !jsonEqual(got, map[string]any{"market": "m1", "qty": 2, "sku": "p1001"}) {
			t.Errorf("isError %v structured %v: %s", res.IsError, got, text(res))
		}
	})
}

func TestMCPIncompleteAnswer(t *testing.T) {
	g := startMCPGateway(t, true)
	cs := connect(t, g.url, nil, nil)
	res := callTool(t, cs, "cityDeals", map[string]any{"city": "Berlin", "lang": "de"})
	got := checkStructured(t, listTools(t, cs)["cityDeals"], res)
	if !strings.HasPrefix(text(res), "Incomplete: missing translate") {
		t.Errorf("text does not say what is missing:\n%s", text(res))
	}
	if m := jsonOf(t, res.Meta[mcpserver.MetaIncomplete]); !jsonEqual(m, []any{"translate"}) || len(got["markets"].([]any)) != 5 {
		t.Errorf("incomplete %v, markets %d: want [translate] and the other parts of the answer", m, len(got["markets"].([]any)))
	}
	if ev := g.calls.next(t, "cityDeals"); ev.Complete || !slices.Equal(ev.Missing, []string{"translate"}) || ev.Status != 200 {
		t.Errorf("recorded complete=%v missing=%v status=%d, want incomplete, missing translate, 200", ev.Complete, ev.Missing, ev.Status)
	}
}

// TestMCPToolListFollowsReload swaps in a new plan as a reload does: the
// connected client is notified and lists the new tools.
func TestMCPToolListFollowsReload(t *testing.T) {
	g := startMCPGateway(t, false)
	changed := make(chan struct{}, 8)
	cs := connect(t, g.url, nil, &mcp.ClientOptions{ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} }})
	if got := names(listTools(t, cs)); !slices.Contains(got, "marketCount") {
		t.Fatalf("tools %v before the reload", got)
	}
	// The new tool calls an upstream only the new plan has: it runs on the
	// new Runtime although the session was opened before the reload.
	greeter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"greeting":"hello"}`)
	}))
	t.Cleanup(greeter.Close)
	g.env["GREETER_URL"] = greeter.URL
	hello := "name: hello\nsummary: Says hello\npath: /hello\nsteps:\n  m: {upstream: greeter, path: /}\n"
	next := map[string]string{"hello.yaml": hello, "upstreams": "  greeter: {url: \"${GREETER_URL}\"}\n"}
	if err := g.srv.Swap(g.build(t, next)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("no notifications/tools/list_changed after the reload")
	}
	want := []string{"cityDeals", "hello", "nearestMarkets", "productSearch"}
	if got := names(listTools(t, cs)); !slices.Equal(got, want) {
		t.Errorf("tools after the reload %v, want %v", got, want)
	}
	if res := callTool(t, cs, "hello", nil); res.IsError || !jsonEqual(res.StructuredContent, map[string]any{"m": map[string]any{"greeting": "hello"}}) {
		t.Errorf("new tool: isError %v structured %v: %s", res.IsError, res.StructuredContent, text(res))
	}
	// An unknown tool is a protocol error (MCP spec, tools, error handling).
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "marketCount", Arguments: map[string]any{"city": "Paris"}}); err == nil {
		t.Error("a removed tool still answers")
	}
}

// TestMCPDemo connects to `manifold demo` as a user does.
func TestMCPDemo(t *testing.T) {
	base := startDemo(t)
	cs := connect(t, base, nil, nil)
	if got, want := names(listTools(t, cs)), []string{"cityDeals", "nearestMarkets", "productSearch"}; !slices.Equal(got, want) {
		t.Errorf("demo tools %v, want %v", got, want)
	}
	res := callTool(t, cs, "nearestMarkets", map[string]any{"lat": 52.52, "lon": 13.405, "radius_km": 3})
	if got, _ := jsonOf(t, res.StructuredContent).(map[string]any); res.IsError || len(got["markets"].([]any)) == 0 {
		t.Errorf("nearestMarkets: %s", text(res))
	}
	spec, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: mcpserver.SpecURI})
	if err != nil {
		t.Fatalf("resources/read %s: %v", mcpserver.SpecURI, err)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(spec.Contents[0].Text), &doc); err != nil || doc.Paths["/v1/cities/{city}/deals"]["get"]["operationId"] != "cityDeals" {
		t.Errorf("the OpenAPI resource is not the gateway's document (openapi %q, %v)", doc.OpenAPI, err)
	}
}
