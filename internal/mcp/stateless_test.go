package mcpserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/manifoldgw/manifold/internal/lbtest"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/refusal"
	"github.com/manifoldgw/manifold/internal/server"
)

// testRuntime loads the pipeline directory fsys and builds the Runtime a
// test gateway serves, closed at the end of the test.
func testRuntime(t *testing.T, fsys fstest.MapFS) *server.Runtime {
	t.Helper()
	plan, err := pipeline.Load(fsys, "test", pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := server.Build(plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt
}

// statelessGateway starts one replica: a gateway whose MCP surface is
// stateless, serving pipeline "weather" from backend.
func statelessGateway(t *testing.T, backend, mcpBlock string) string {
	t.Helper()
	fsys := fstest.MapFS{
		"gateway.yaml": {Data: []byte("upstreams:\n  up: {url: \"" + backend + "\"}\nmcp: {" + mcpBlock + "}\n")},
		"weather.yaml": {Data: []byte("name: weather\npath: /weather\nsteps:\n  s: {upstream: up, path: /}\noutput: .s\n")},
	}
	rt := testRuntime(t, fsys)
	refusals := new(refusal.Counts)
	surface := New(Options{Refusals: refusals, Stateless: true})
	srv := server.New(rt, server.Options{Surfaces: []server.Surface{surface}, Refusals: refusals})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(surface.Close)
	return ts.URL
}

// TestStatelessAcrossReplicas: an MCP client behind a round-robin load
// balancer opens on replica A (initialize with protocol 2025-06-18,
// server/discover with the sessionless protocol) and lists and calls
// tools on B and C.
func TestStatelessAcrossReplicas(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"temp": 21}`)
	}))
	t.Cleanup(backend.Close)
	var bases []string
	for range 3 {
		bases = append(bases, statelessGateway(t, backend.URL, ""))
	}
	for _, tc := range []struct{ version, opening string }{{"2025-06-18", "initialize"}, {"", "server/discover"}} {
		t.Run(tc.opening, func(t *testing.T) {
			rr := &lbtest.RoundRobin{Bases: bases}
			client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
			cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{
				Endpoint: bases[0] + Path, HTTPClient: &http.Client{Transport: rr}, MaxRetries: -1},
				&mcp.ClientSessionOptions{ProtocolVersion: tc.version})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			for range 3 {
				useTools(t, cs)
			}
			checkServed(t, rr, tc.opening)
		})
	}
}

// useTools lists the tools and calls the weather tool.
func useTools(t *testing.T, cs *mcp.ClientSession) {
	t.Helper()
	list, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	if len(list.Tools) != 1 || list.Tools[0].Name != "weather" {
		t.Fatalf("tools/list: %+v, want the weather tool", list.Tools)
	}
	res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "weather"})
	if err != nil || res.IsError {
		t.Fatalf("tools/call: %v %+v", err, res)
	}
	if got, _ := json.Marshal(res.StructuredContent); !strings.Contains(string(got), `"temp":21`) {
		t.Fatalf("tools/call answered %s", got)
	}
}

// checkServed: the session opened on replica A, and B and C answered
// tools/list and tools/call.
func checkServed(t *testing.T, rr *lbtest.RoundRobin, opening string) {
	t.Helper()
	log := rr.Log()
	if first := log[0]; first.Method != opening || first.Replica != 0 || first.Status != http.StatusOK {
		t.Fatalf("the first request %+v, want %s answered by replica A", first, opening)
	}
	answered := rr.Answered()
	for _, method := range []string{"tools/list", "tools/call"} {
		if by := answered[method]; !by[1] || !by[2] {
			t.Errorf("%s was not answered by replicas B and C: %v (requests %+v)", method, by, log)
		}
	}
}

// TestStatelessIgnoresSessionHeader: a client that kept a session ID
// (from a stateful replica, say) is served by any replica all the same.
func TestStatelessIgnoresSessionHeader(t *testing.T) {
	base := statelessGateway(t, "http://127.0.0.1:1", "")
	req, _ := http.NewRequest(http.MethodPost, base+Path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", "opened-on-another-replica")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"weather"`) {
		t.Errorf("tools/list with another replica's session ID: %d %s", resp.StatusCode, body)
	}
}

// TestStatelessBoundsRequests: stateless, mcp.max_sessions bounds the MCP
// requests in flight, each being a session for its own length.
func TestStatelessBoundsRequests(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(backend.Close)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // before backend.Close
	base := statelessGateway(t, backend.URL, "max_sessions: 1")
	post := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+Path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	done := make(chan int, 1)
	go func() {
		status, _ := post(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather","arguments":{}}}`)
		done <- status
	}()
	<-arrived
	status, body := post(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "mcp.max_sessions (1)") {
		t.Errorf("a second request in flight: %d %s, want 503 naming mcp.max_sessions", status, body)
	}
	once.Do(func() { close(release) })
	if status := <-done; status != http.StatusOK {
		t.Errorf("the call in flight ended with %d", status)
	}
	if status, body := post(`{"jsonrpc":"2.0","id":3,"method":"tools/list"}`); status != http.StatusOK {
		t.Errorf("once the call ended, tools/list: %d %s", status, body)
	}
}
