package mcpserver

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/refusal"
	"github.com/manifoldgw/manifold/internal/server"
)

// expiringAuth names the caller by X-Who; X-Expires-In sets when its
// credential expires.
type expiringAuth struct{}

func (expiringAuth) Authenticate(r *http.Request) (*pipeline.Identity, error) {
	who := r.Header.Get("X-Who")
	if who == "" {
		return nil, nil
	}
	id := &pipeline.Identity{Name: who, Source: pipeline.IdentityJWT}
	if d, err := time.ParseDuration(r.Header.Get("X-Expires-In")); err == nil {
		id.Expires = time.Now().Add(d)
	}
	return id, nil
}

type boundsGateway struct {
	url      string
	surface  *Surface
	refusals *refusal.Counts
}

func startBoundsGateway(t *testing.T, mcpBlock string) *boundsGateway {
	t.Helper()
	fsys := fstest.MapFS{
		"gateway.yaml": {Data: []byte("upstreams:\n  up: {url: \"http://127.0.0.1:1\"}\nmcp: {" + mcpBlock + "}\n")},
		"p.yaml":       {Data: []byte("name: p\npath: /p\nsteps:\n  s: {upstream: up, path: /}\n")},
	}
	rt := testRuntime(t, fsys)
	g := &boundsGateway{refusals: new(refusal.Counts)}
	g.surface = New(Options{Refusals: g.refusals})
	srv := server.New(rt, server.Options{Auth: expiringAuth{}, Surfaces: []server.Surface{g.surface}, Refusals: g.refusals})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(g.surface.Close)
	g.url = ts.URL
	return g
}

// post sends one JSON-RPC message as who, in session sid ("" opens one).
func (g *boundsGateway) post(t *testing.T, who, sid, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.url+Path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("X-Who", who)
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// open initializes and confirms a session as who.
func (g *boundsGateway) open(t *testing.T, who string) string {
	t.Helper()
	resp, body := g.post(t, who, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %s", resp.StatusCode, body)
	}
	if resp, body := g.post(t, who, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("initialized: %d %s", resp.StatusCode, body)
	}
	return sid
}

// TestEventStreamEndsWithTheCredential: the event stream of a session is
// a server stream, so it ends when the caller's credential expires.
func TestEventStreamEndsWithTheCredential(t *testing.T) {
	g := startBoundsGateway(t, "")
	sid := g.open(t, "ann")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, g.url+Path, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("X-Who", "ann")
	req.Header.Set("X-Expires-In", "300ms")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("event stream: %d", resp.StatusCode)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // returns when the stream ends
	if ctx.Err() != nil {
		t.Fatal("the event stream outlived its credential")
	}
}

// TestLongLoggingLevelRefused: logging/setLevel would keep any string as
// the session's level.
func TestLongLoggingLevelRefused(t *testing.T) {
	g := startBoundsGateway(t, "max_client_string: 16")
	sid := g.open(t, "ann")
	_, body := g.post(t, "ann", sid, `{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"`+strings.Repeat("x", 17)+`"}}`)
	if !strings.Contains(body, `"code":-32602`) || !strings.Contains(body, "level is 17 bytes, over the limit of 16 (mcp.max_client_string)") {
		t.Fatalf("a 17-byte level: %s", body)
	}
	if g.refusals.Get(RefusedClientString) != 1 {
		t.Errorf("refusals counted: %d, want 1", g.refusals.Get(RefusedClientString))
	}
}

// TestSessionSlotsComeBack: a session ended by DELETE, or by the SDK
// because its initialize failed, gives its slot back.
func TestSessionSlotsComeBack(t *testing.T) {
	g := startBoundsGateway(t, "max_sessions: 1")
	for range 3 {
		sid := g.open(t, "ann")
		req, _ := http.NewRequest(http.MethodDelete, g.url+Path, nil)
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("X-Who", "ann")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || g.surface.sessions.count() != 0 {
			t.Fatalf("DELETE: %d, %d sessions counted after it", resp.StatusCode, g.surface.sessions.count())
		}
	}
	// Not an initialize: the SDK closes the session it made at once.
	g.post(t, "ann", "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if n := g.surface.sessions.count(); n != 0 {
		t.Fatalf("%d sessions counted after a request that opened none", n)
	}
}

// TestSessionMessageBounded: a message within a session is held to
// server.max_body plus the envelope (1 MiB + 64 KiB here), below the
// SDK's 4 MiB default.
func TestSessionMessageBounded(t *testing.T) {
	g := startBoundsGateway(t, "")
	sid := g.open(t, "ann")
	pad := strings.Repeat("x", 3<<19) // 1.5 MiB
	resp, body := g.post(t, "ann", sid, `{"jsonrpc":"2.0","id":2,"method":"ping","params":{"_meta":{"pad":"`+pad+`"}}}`)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 1.5 MiB message: %d %.200s, want 413", resp.StatusCode, body)
	}
}
