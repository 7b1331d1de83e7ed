package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/manifoldgw/manifold/internal/auth"
)

// TestMCPSessionBelongsToItsConsumer: a session opened by one consumer
// cannot be used with another consumer's credentials.
func TestMCPSessionBelongsToItsConsumer(t *testing.T) {
	g := startMCPGateway(t, false)
	post := func(consumer, session, body string) *http.Response {
		req, _ := http.NewRequest("POST", g.url+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("X-Test-Consumer", consumer)
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	init := post("alice", "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	session := init.Header.Get("Mcp-Session-Id")
	if init.StatusCode != 200 || session == "" {
		t.Fatalf("initialize: %d, session %q", init.StatusCode, session)
	}
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	if resp := post("mallory", session, list); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another consumer on alice's session: %d, want 403", resp.StatusCode)
	}
	if resp := post("alice", session, list); resp.StatusCode != http.StatusOK {
		t.Errorf("alice on her session: %d, want 200", resp.StatusCode)
	}
}

// TestMCPWithAPIKeysAndAudit runs the whole gateway as `manifold serve`
// does: real API keys on the session's requests, and the audit event of a
// tool call read back from NATS JetStream.
func TestMCPWithAPIKeysAndAudit(t *testing.T) {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(w, r.Body)
	}))
	t.Cleanup(echo.Close)
	gateway := fmt.Sprintf(`upstreams:
  orders: {url: %q}
auth:
  api_key: {header: X-API-Key}
consumers:
  shop:   {key_sha256: %q, roles: [buyer]}
  viewer: {key_sha256: %q, roles: [reader]}
defaults: {access: {roles: [buyer, reader]}}
audit: {nats: %q, stream: MCP_AUDIT, subject: mcp.audit, data_dir: %q}
`, echo.URL, auth.HashKey("shop-key"), auth.HashKey("viewer-key"), ns.ClientURL(), t.TempDir())
	base, _ := serveDir(t, map[string]string{"gateway.yaml": gateway, "order.yaml": placeOrderYAML})

	if _, err := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "test"}, nil).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: base + "/mcp", HTTPClient: &http.Client{Transport: headers{"X-API-Key": "wrong"}}, MaxRetries: -1}, nil); err == nil {
		t.Error("a wrong API key opened an MCP session")
	}
	viewer := connect(t, base, headers{"X-API-Key": "viewer-key"}, nil)
	if got := names(listTools(t, viewer)); len(got) != 0 {
		t.Errorf("a reader lists %v, want no tools", got)
	}
	shop := connect(t, base, headers{"Authorization": "Bearer shop-key"}, nil)
	if got := names(listTools(t, shop)); !slices.Equal(got, []string{"placeOrder"}) {
		t.Errorf("a buyer lists %v, want [placeOrder]", got)
	}
	res := callTool(t, shop, "placeOrder", map[string]any{"market": "m7", "body": map[string]any{"sku": "p1001", "qty": 1}})
	if res.IsError {
		t.Fatalf("placeOrder: %s", text(res))
	}

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Surface, Pipeline, Consumer, Method string
		Status                              int
		Steps                               []struct{ Name string }
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		msg, err := readLast(js, "MCP_AUDIT", "mcp.audit.call.placeOrder")
		if err == nil {
			var ev struct{ Data json.RawMessage }
			if err := json.Unmarshal(msg, &ev); err != nil || json.Unmarshal(ev.Data, &data) != nil {
				t.Fatalf("audit event is not CloudEvents JSON: %s", msg)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit event for placeOrder on NATS: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling JetStream, not synchronising
	}
	if data.Surface != "mcp" || data.Pipeline != "placeOrder" || data.Consumer != "key:shop" || data.Status != 200 || data.Method != "POST" ||
		len(data.Steps) != 1 || data.Steps[0].Name != "order" {
		t.Errorf("audit event %+v, want surface mcp, placeOrder by key:shop (the API-key consumer shop), 200, step order", data)
	}
}

func readLast(js jetstream.JetStream, stream, subject string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	msg, err := s.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		return nil, err
	}
	return msg.Data, nil
}
