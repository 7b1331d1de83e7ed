package security

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/manifoldgw/manifold/internal/launch"
)

// startMCPGateway runs the whole gateway (launch.Serve) with one pipeline,
// the given server keys and the mcp block; 127.0.0.1 is a trusted proxy,
// so a test plays many client addresses with X-Forwarded-For.
func startMCPGateway(t *testing.T, serverKeys, mcpBlock string) string {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(backend.Close)
	plan := loadFiles(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("server: {trusted_proxies: [127.0.0.1]%s}\naudit: {nats: \"off\"}\nupstreams:\n  up: {url: %q}\nmcp: {%s}\n", serverKeys, backend.URL, mcpBlock),
		"ping.yaml":    "name: ping\nsummary: Ping\npath: /v1/ping\nsteps:\n  s: {upstream: up, path: /}\n",
	})
	base, _ := serve(t, plan, launch.Options{Logger: slog.New(slog.DiscardHandler)})
	return base
}

// initializeBody is an MCP initialize request naming the client name.
func initializeBody(name string) string {
	return `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"` +
		name + `","version":"1"}}}`
}

// mcpPost sends one JSON-RPC message to /mcp as the client at address
// from, in the session sid ("" opens one).
func mcpPost(t *testing.T, base, from, sid, body string) answer {
	t.Helper()
	h := []string{"Accept", "application/json, text/event-stream", "X-Forwarded-For", from}
	if sid != "" {
		h = append(h, "Mcp-Session-Id", sid, "Mcp-Protocol-Version", "2025-06-18")
	}
	return do(t, request(t, "POST", base+"/mcp", body, h...))
}

// openSession initializes a session (without confirming it with
// notifications/initialized) and returns its id.
func openSession(t *testing.T, base, from string) string {
	t.Helper()
	a := mcpPost(t, base, from, "", initializeBody("attacker"))
	sid := a.header.Get("Mcp-Session-Id")
	if a.status != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %s", a.status, a.body)
	}
	return sid
}

// confirm sends notifications/initialized in session sid.
func confirm(t *testing.T, base, from, sid string) {
	t.Helper()
	if a := mcpPost(t, base, from, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); a.status != http.StatusAccepted {
		t.Fatalf("notifications/initialized: %d %s", a.status, a.body)
	}
}

const pingMessage = `{"jsonrpc":"2.0","id":2,"method":"ping"}`

// settled returns the live heap and goroutine count after collection.
func settled() (heap uint64, goroutines int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, runtime.NumGoroutine()
}

// waitGoroutines polls until at most limit goroutines run.
func waitGoroutines(t *testing.T, limit int, why string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		http.DefaultClient.CloseIdleConnections()
		_, n := settled()
		if n <= limit {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, want at most %d: %s", n, limit, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refusals reads manifold.limit.refusals{manifold.limit=name} from
// /metrics.
func refusals(t *testing.T, base, name string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "manifold_limit_refusals") && strings.Contains(line, `manifold_limit="`+name+`"`) {
			n, _ := strconv.Atoi(line[strings.LastIndexByte(line, ' ')+1:])
			return n
		}
	}
	return 0
}

// TestMCPSessionFlood: anonymous initialize calls, from one address and
// from many, past mcp.max_sessions_per_client and mcp.max_sessions. Each
// one past the caps is refused before a session exists, so goroutines
// and heap stay bounded by the caps, not by the attack.
func TestMCPSessionFlood(t *testing.T) {
	base := startMCPGateway(t, "", "max_sessions: 20, max_sessions_per_client: 5, init_timeout: 1m")
	heap0, g0 := settled()

	// One address: five sessions, then 429.
	for i := range 50 {
		a := mcpPost(t, base, "10.0.0.1", "", initializeBody("attacker"))
		want, slug := http.StatusOK, ""
		if i >= 5 {
			want, slug = http.StatusTooManyRequests, "too-many-sessions"
		}
		if a.status != want || a.problemType() != slug {
			t.Fatalf("initialize %d from one address: %d %s, want %d %s", i, a.status, a.body, want, slug)
		}
		if i >= 5 && (a.header.Get("Retry-After") == "" || !strings.Contains(string(a.body), "mcp.max_sessions_per_client (5)")) {
			t.Fatalf("refusal does not say why or when to retry: %v %s", a.header, a.body)
		}
	}
	// Many addresses: up to the total of 20, then 503.
	admitted := 5
	for i := range 250 {
		a := mcpPost(t, base, fmt.Sprintf("10.1.%d.%d", i/200, i%200), "", initializeBody("attacker"))
		switch {
		case a.status == http.StatusOK:
			admitted++
		case a.status != http.StatusServiceUnavailable || a.problemType() != "too-many-sessions" ||
			!strings.Contains(string(a.body), "mcp.max_sessions (20)"):
			t.Fatalf("initialize %d from many addresses: %d %s, want 503 too-many-sessions", i, a.status, a.body)
		}
	}
	if admitted != 20 {
		t.Errorf("%d sessions admitted, want 20 (mcp.max_sessions)", admitted)
	}
	if n := refusals(t, base, "mcp.max_sessions_per_client"); n != 45 {
		t.Errorf("refusals of mcp.max_sessions_per_client: %d, want 45", n)
	}
	if n := refusals(t, base, "mcp.max_sessions"); n != 235 {
		t.Errorf("refusals of mcp.max_sessions: %d, want 235", n)
	}
	// 20 sessions of a few goroutines each; 300 unbounded ones would hold
	// at least 300.
	waitGoroutines(t, g0+120, "20 sessions")
	if heap, _ := settled(); heap > heap0+16<<20 {
		t.Errorf("heap grew by %d MiB for 20 sessions", (heap-heap0)>>20)
	}
}

// TestMCPHugeClientInfo: initialize calls with a 1 MB clientInfo.name are
// refused (413) before a session exists; a name over
// mcp.max_client_string but within the message bound gets a JSON-RPC
// error, and no session.
func TestMCPHugeClientInfo(t *testing.T) {
	base := startMCPGateway(t, "", "max_sessions: 20, max_sessions_per_client: 20")
	heap0, g0 := settled()
	huge := initializeBody(strings.Repeat("x", 1<<20))
	for i := range 40 {
		a := mcpPost(t, base, "10.0.0.1", "", huge)
		if a.status != http.StatusRequestEntityTooLarge || a.problemType() != "body-too-large" ||
			!strings.Contains(string(a.body), "mcp.max_initialize_bytes") {
			t.Fatalf("initialize %d with a 1 MB name: %d %.300s, want 413 body-too-large", i, a.status, a.body)
		}
	}
	if heap, _ := settled(); heap > heap0+16<<20 {
		t.Errorf("heap grew by %d MiB after refused 1 MB names", (heap-heap0)>>20)
	}
	waitGoroutines(t, g0+20, "no session was opened")
	if n := refusals(t, base, "mcp.max_initialize_bytes"); n != 40 {
		t.Errorf("refusals of mcp.max_initialize_bytes: %d, want 40", n)
	}

	a := mcpPost(t, base, "10.0.0.1", "", initializeBody(strings.Repeat("x", 1000)))
	if a.status != http.StatusOK || !strings.Contains(string(a.body), `"code":-32602`) ||
		!strings.Contains(string(a.body), "clientInfo.name is 1000 bytes, over the limit of 256 (mcp.max_client_string)") {
		t.Fatalf("initialize with a 1000-byte name: %d %s, want a JSON-RPC -32602 error naming the limit", a.status, a.body)
	}
	if sid := a.header.Get("Mcp-Session-Id"); sid != "" {
		if b := mcpPost(t, base, "10.0.0.1", sid, pingMessage); b.status != http.StatusNotFound {
			t.Errorf("the refused session answers: %d %s", b.status, b.body)
		}
	}
	if n := refusals(t, base, "mcp.max_client_string"); n != 1 {
		t.Errorf("refusals of mcp.max_client_string: %d, want 1", n)
	}
	// The refused session gave its slot back: 20 more fit.
	for range 20 {
		openSession(t, base, "10.0.0.1")
	}
}

// TestMCPUnconfirmedSessionExpires: a session whose client never sends
// notifications/initialized is closed after mcp.init_timeout, and gives
// its slot back; a confirmed session opened at the same time stays.
func TestMCPUnconfirmedSessionExpires(t *testing.T) {
	base := startMCPGateway(t, "", "max_sessions: 2, init_timeout: 300ms")
	idle := openSession(t, base, "10.0.0.1")
	good := openSession(t, base, "10.0.0.2")
	confirm(t, base, "10.0.0.2", good)
	if a := mcpPost(t, base, "10.0.0.3", "", initializeBody("third")); a.status != http.StatusServiceUnavailable {
		t.Fatalf("a third session with max_sessions 2: %d %s", a.status, a.body)
	}
	// A ping is a request like any other: it does not confirm the session.
	waitGone(t, base, "10.0.0.1", idle, "the unconfirmed session")
	if a := mcpPost(t, base, "10.0.0.2", good, pingMessage); a.status != http.StatusOK {
		t.Fatalf("the confirmed session was closed too: %d %s", a.status, a.body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for { // the closed session's slot comes back once the SDK has let it go
		a := mcpPost(t, base, "10.0.0.3", "", initializeBody("third"))
		if a.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the expired session kept its slot: %d %s", a.status, a.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMCPIdleSessionAndItsStreamEnd: an idle session is closed after
// mcp.session_timeout, and its event stream (a bounded server stream)
// ends with it.
func TestMCPIdleSessionAndItsStreamEnd(t *testing.T) {
	base := startMCPGateway(t, "", "session_timeout: 500ms")
	sid := openSession(t, base, "10.0.0.1")
	confirm(t, base, "10.0.0.1", sid)
	req := request(t, "GET", base+"/mcp", "", "Accept", "text/event-stream", "Mcp-Session-Id", sid,
		"Mcp-Protocol-Version", "2025-06-18", "X-Forwarded-For", "10.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("event stream: %d", resp.StatusCode)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // returns when the stream ends
	if ctx.Err() != nil {
		t.Fatal("the idle session's event stream was still open after 10s")
	}
	// The stream ends as the SDK starts closing the session; it forgets
	// the session a moment later.
	waitGone(t, base, "10.0.0.1", sid, "the idle session")
}

// waitGone polls until session sid answers 404.
func waitGone(t *testing.T, base, from, sid, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := mcpPost(t, base, from, sid, pingMessage)
		if a.status == http.StatusNotFound {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still answers: %d %s", what, a.status, a.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMCPEventStreamsBounded: event streams count against
// server.max_streams_per_client like any long-lived stream: past it, the
// gateway's 503 too-many-streams.
func TestMCPEventStreamsBounded(t *testing.T) {
	base := startMCPGateway(t, ", max_streams_per_client: 2", "")
	for i := range 3 {
		sid := openSession(t, base, "10.0.0.1")
		confirm(t, base, "10.0.0.1", sid)
		req := request(t, "GET", base+"/mcp", "", "Accept", "text/event-stream", "Mcp-Session-Id", sid,
			"Mcp-Protocol-Version", "2025-06-18", "X-Forwarded-For", "10.0.0.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		want := http.StatusOK
		if i == 2 {
			want = http.StatusServiceUnavailable
		}
		if resp.StatusCode != want {
			t.Fatalf("event stream %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
	if n := refusals(t, base, "server.max_streams_per_client"); n != 1 {
		t.Errorf("refusals of server.max_streams_per_client: %d, want 1", n)
	}
}

// TestMCPClientStillWorks: the SDK's own client opens a session, lists
// and calls tools under tight bounds.
func TestMCPClientStillWorks(t *testing.T) {
	base := startMCPGateway(t, "", "max_sessions: 2, max_sessions_per_client: 2, init_timeout: 300ms")
	client := mcp.NewClient(&mcp.Implementation{Name: "security-test", Version: "1"}, nil)
	for range 4 { // closed sessions give their slot back
		cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: base + "/mcp"}, nil)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "ping"})
		if err != nil || res.IsError {
			t.Fatalf("tools/call: %v %+v", err, res)
		}
		if err := cs.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
