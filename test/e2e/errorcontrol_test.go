package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// errorControlFiles is a gateway whose orders backend answers 404 for
// "missing", 409 for "locked", 503 with a JSON body for prices, and the
// order otherwise.
func errorControlFiles(t *testing.T) map[string]string {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/orders/missing":
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"no such order"}`)
		case "/orders/locked":
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"error":"locked"}`)
		case "/prices":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"reason":"maintenance"}`)
		default:
			_, _ = fmt.Fprintf(w, `{"id":%q,"total":3}`, strings.TrimPrefix(r.URL.Path, "/orders/"))
		}
	}))
	t.Cleanup(up.Close)
	return map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  orders: {url: %q}\n", up.URL),
		"order.yaml": `name: order
path: /orders/{id}
params:
  id: {in: path, type: string}
steps:
  o:
    upstream: orders
    path: /orders/${ .params.id }
    on_status:
      404: null
      409: {status: 409, detail: the order is being edited, type: order-locked}
output: 'if .o == null then error({status: 404, detail: "no order \(.params.id)"}) else .o end'
`,
		"maybe.yaml": `name: maybeOrder
path: /maybe/{id}
params:
  id: {in: path, type: string}
steps:
  o: {upstream: orders, path: "/orders/${ .params.id }", on_status: {404: null}}
output: '{order: .o, found: (.o != null)}'
`,
		"quote.yaml": `name: quote
path: /quote
steps:
  o: {upstream: orders, path: /orders/q1}
  prices: {upstream: orders, path: /prices, optional: true}
output: '{order: .o.id, price: .prices, why: .errors.prices}'
`,
	}
}

// TestErrorControlREST: a chosen problem (error({...}) and on_status), a
// required step's 404 as null, and .errors.STEP, over REST.
func TestErrorControlREST(t *testing.T) {
	base, _ := serveDir(t, errorControlFiles(t))
	cases := []struct {
		path, contentType, body string
		status                  int
	}{
		{"/orders/missing", "application/problem+json",
			`{"type":"urn:manifold:problem:not-found","title":"Not Found","status":404,"detail":"no order missing"}`, 404},
		{"/orders/locked", "application/problem+json",
			`{"type":"urn:manifold:problem:order-locked","title":"Conflict","status":409,"detail":"the order is being edited"}`, 409},
		{"/orders/o7", "application/json", `{"id":"o7","total":3}`, 200},
		{"/maybe/missing", "application/json", `{"found":false,"order":null}`, 200},
		{"/quote", "application/json",
			`{"order":"q1","price":null,"why":{"body":{"reason":"maintenance"},"content_type":"application/json","error":"upstream answered 503","status":503}}`, 200},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			resp, err := http.Get(base + c.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var got map[string]any
			_ = json.Unmarshal(b, &got)
			delete(got, "instance")
			norm, _ := json.Marshal(got)
			var want map[string]any
			_ = json.Unmarshal([]byte(c.body), &want)
			wantNorm, _ := json.Marshal(want)
			if resp.StatusCode != c.status || resp.Header.Get("Content-Type") != c.contentType || string(norm) != string(wantNorm) {
				t.Errorf("got %d %s %s\nwant %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), norm, c.status, c.contentType, wantNorm)
			}
		})
	}
}

// TestErrorControlGraphQLAndMCP: the chosen problem is a GraphQL error
// with its status in extensions, and an MCP tool error (isError).
func TestErrorControlGraphQLAndMCP(t *testing.T) {
	base, _ := serveDir(t, errorControlFiles(t))
	t.Run("GraphQL", func(t *testing.T) {
		r := graphql(t, base, `{ run(pipeline: "order", params: {id: "locked"}) { status data } }`, nil, "")
		if len(r.Errors) != 1 {
			t.Fatalf("errors %+v, data %s", r.Errors, r.Data)
		}
		e := r.Errors[0]
		if e.Message != "the order is being edited" || e.Extensions["status"] != 409.0 ||
			e.Extensions["type"] != "urn:manifold:problem:order-locked" || e.Extensions["code"] != "BAD_USER_INPUT" {
			t.Errorf("message %q, extensions %v", e.Message, e.Extensions)
		}
		r = graphql(t, base, `{ run(pipeline: "order", params: {id: "missing"}) { status data } }`, nil, "")
		if r.code() != "NOT_FOUND" || r.Errors[0].Extensions["status"] != 404.0 {
			t.Errorf("error() 404: %+v", r.Errors)
		}
	})
	t.Run("MCP", func(t *testing.T) {
		cs := connect(t, base, headers{}, nil)
		res := callTool(t, cs, "order", map[string]any{"id": "missing"})
		got := text(res)
		if !res.IsError || !strings.HasPrefix(got, "Error 404 Not Found: no order missing\n") {
			t.Errorf("tool result isError=%v:\n%s", res.IsError, got)
		}
		res = callTool(t, cs, "maybeOrder", map[string]any{"id": "missing"})
		if res.IsError || !strings.Contains(text(res), `"found":false`) {
			t.Errorf("404 as null over MCP: isError=%v %s", res.IsError, text(res))
		}
	})
}
