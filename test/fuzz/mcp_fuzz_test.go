package fuzz

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// mcpSession is an initialized MCP session on a gateway.
type mcpSession struct {
	g  *gateway
	id string
}

func (g *gateway) mcpSession(tb testing.TB) *mcpSession {
	tb.Helper()
	s := &mcpSession{g: g}
	a := s.post(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"fuzz","version":"1"}}}`)
	if s.id = a.header.Get("Mcp-Session-Id"); a.status != http.StatusOK || s.id == "" {
		tb.Fatalf("initialize: %d %s", a.status, a.body)
	}
	if a := s.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); a.status != http.StatusAccepted {
		tb.Fatalf("notifications/initialized: %d %s", a.status, a.body)
	}
	return s
}

func (s *mcpSession) post(body string) answer {
	r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	if s.id != "" {
		r.Header.Set("Mcp-Session-Id", s.id)
		r.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	return s.g.serve(r)
}

// toolAnswer is what a tools/call answered.
type toolAnswer struct {
	http   answer
	status int            // 200, the problem's status, or 400 for invalid params
	code   int            // the JSON-RPC error code, if any
	data   map[string]any // structuredContent of a success
}

// call calls tool with the raw arguments (any JSON).
func (s *mcpSession) call(t *testing.T, tool string, args json.RawMessage) toolAnswer {
	t.Helper()
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": args}})
	ta := toolAnswer{http: s.post(string(msg))}
	var out struct {
		Result *struct {
			IsError           bool           `json:"isError"`
			StructuredContent map[string]any `json:"structuredContent"`
			Meta              struct {
				Problem struct{ Status int } `json:"manifold/problem"`
			} `json:"_meta"`
		}
		Error *struct{ Code int }
	}
	if err := json.Unmarshal(sseData(ta.http), &out); err != nil && ta.http.status < 400 {
		t.Fatalf("tools/call %q %s: HTTP %d, not a JSON-RPC answer: %s", tool, args, ta.http.status, ta.http.body)
	}
	switch {
	case out.Error != nil:
		ta.code, ta.status = out.Error.Code, http.StatusBadRequest
	case out.Result != nil && out.Result.IsError:
		ta.status = out.Result.Meta.Problem.Status
	case out.Result != nil:
		ta.status, ta.data = http.StatusOK, out.Result.StructuredContent
	}
	return ta
}

// check checks a tools/call answer: never a 5xx, an internal JSON-RPC
// error (-32603) or a tool error without its problem.
func (ta toolAnswer) check(t *testing.T, tool string, args []byte) {
	t.Helper()
	code := ""
	if ta.code == -32603 {
		code = "INTERNAL"
	}
	checkSurface(t, "mcp", tool, args, ta.http, ta.status, code)
	if ta.http.status == http.StatusOK && ta.status == 0 {
		t.Fatalf("mcp %q %s: neither a result, a problem nor an error: %s", tool, args, ta.http.body)
	}
}

// FuzzMCPArguments calls any tool with any arguments. The answer is a
// result, a tool error carrying a 4xx problem, or a JSON-RPC error other
// than internal; never a 5xx.
func FuzzMCPArguments(f *testing.F) {
	f.Add("search", []byte(`{"q":"milk","n":5,"flag":true,"lang":"en"}`))
	f.Add("search", []byte(`{"n":"5","x":"1.5"}`))
	f.Add("search", []byte(`{"n":1e400}`))
	f.Add("search", []byte(`{"q":null,"lang":["en"]}`))
	f.Add("search", []byte(`[]`))
	f.Add("search", []byte(`"x"`))
	f.Add("item", []byte(`{"id":".."}`))
	f.Add("item", []byte(`{"id":"a%2Fb"}`))
	f.Add("order", []byte(`{"body":{"market_id":"m","items":[{"product_id":"p","quantity":1}]}}`))
	f.Add("order", []byte(`{"body":"not an object"}`))
	f.Add("missing", []byte(`{}`))
	g := newGateway(f)
	s := g.mcpSession(f)
	f.Fuzz(func(t *testing.T, tool string, args []byte) {
		if !json.Valid(args) {
			args, _ = json.Marshal(string(args))
		}
		s.call(t, tool, args).check(t, tool, args)
	})
}

// FuzzMCPParams calls search with typed arguments: the status is the one
// REST answers for the same values, and an accepted string comes back
// unchanged.
func FuzzMCPParams(f *testing.F) {
	f.Add("milk", "5", "1.5", "true", "en")
	f.Add("", "0", "", "", "")
	f.Add("x", "1000", "-1", "false", "de")
	f.Add(strings.Repeat("ß", 101), "1001", "1e400", "maybe", "EN")
	g := newGateway(f)
	s := g.mcpSession(f)
	f.Fuzz(func(t *testing.T, q, n, x, flag, lang string) {
		args := typedArgs(q, n, x, flag, lang)
		raw, err := json.Marshal(args)
		if err != nil {
			return
		}
		ta := s.call(t, "search", raw)
		ta.check(t, "search", raw)
		if rest := g.restStatus(args); rest != 0 && rest != ta.status {
			t.Fatalf("search %s: MCP says %d (code %d), REST %d: %s", raw, ta.status, ta.code, rest, ta.http.body)
		}
		if ta.status == http.StatusOK && q != "" {
			params, _ := ta.data["params"].(map[string]any)
			if got, _ := params["q"].(string); got != q && json.Valid([]byte(raw)) && validUTF8(q) {
				t.Fatalf("search %s: ran with q %q, want %q", raw, got, q)
			}
		}
	})
}
