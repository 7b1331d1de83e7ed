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

// echoed is what the echo backend saw of one request.
type echoed struct {
	Query  string              `json:"query"`
	Header map[string][]string `json:"header"`
}

// echoBackend answers every request with its raw query and headers.
func echoBackend(t *testing.T) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echoed{Query: r.URL.RawQuery, Header: r.Header})
	}))
	t.Cleanup(up.Close)
	return up
}

const paramsPipeline = `name: p
path: /p
params:
  requestId: {in: header, name: X-Request-Id, required: true}
  pageSize:  {in: query, name: "page[size]", type: integer, maximum: 50}
  tag:       {type: array, items: {type: string, enum: [a, b, c]}, max_items: 3}
  ids:       {type: array, items: {type: integer}, explode: false}
  codes:     {in: header, name: X-Codes, type: array, items: {type: integer}}
steps:
  s:
    upstream: echo
    path: /echo
    query:
      tag: "${ .params.tag }"
      ids: "${ .params.ids | if . then map(tostring) | join(\"-\") else null end }"
      size: "${ .params.pageSize }"
    headers:
      X-Req: "${ .params.requestId }"
      X-Sum: "${ .params.codes | if . then add else null end }"
`

// TestParamsWireNamesAndArrays reads wire-named and array parameters on
// every surface and sends them upstream.
func TestParamsWireNamesAndArrays(t *testing.T) {
	up := echoBackend(t)
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  echo: {url: %q}\n", up.URL),
		"p.yaml":       paramsPipeline,
	})
	want := func(t *testing.T, got echoed) {
		t.Helper()
		if got.Query != "ids=1-2&size=20&tag=a&tag=b" || first(got.Header, "X-Req") != "r-1" || first(got.Header, "X-Sum") != "7" {
			t.Errorf("upstream got query %q, X-Req %q, X-Sum %q", got.Query, first(got.Header, "X-Req"), first(got.Header, "X-Sum"))
		}
	}
	t.Run("REST", func(t *testing.T) {
		code, body := getH(t, base+"/p?tag=a&tag=b&ids=1,2&page%5Bsize%5D=20", http.Header{"X-Request-Id": {"r-1"}, "X-Codes": {"3, 4"}})
		var got struct{ S echoed }
		if code != 200 || json.Unmarshal(body, &got) != nil {
			t.Fatalf("got %d %s", code, body)
		}
		want(t, got.S)
	})
	t.Run("REST refusals", func(t *testing.T) {
		for _, c := range []struct{ query, in, name, reason string }{
			{"tag=a&tag=x", "query", "tag", `element 2: must be one of a, b, c`},
			{"ids=1,x", "query", "ids", `element 2: "x" is not an integer`},
			{"ids=1&ids=2", "query", "ids", `given 2 times; give it once, comma-separated`},
			{"page%5Bsize%5D=1&page%5Bsize%5D=2", "query", "page[size]", `given 2 times; give it once`},
			{"page%5Bsize%5D=99", "query", "page[size]", `must be at most 50`},
			{"tag=a&tag=b&tag=c&tag=a", "query", "tag", `must have at most 3 elements`},
		} {
			code, body := getH(t, base+"/p?"+c.query, http.Header{"X-Request-Id": {"r"}})
			if code != 400 || !hasEntry(body, c.in, c.name, c.reason) {
				t.Errorf("?%s: got %d %s; want a 400 naming %s %s: %s", c.query, code, body, c.in, c.name, c.reason)
			}
		}
		code, body := getH(t, base+"/p", nil)
		if code != 400 || !hasEntry(body, "header", "X-Request-Id", "required") {
			t.Errorf("no X-Request-Id: got %d %s", code, body)
		}
	})
	args := map[string]any{"requestId": "r-1", "pageSize": 20, "tag": []any{"a", "b"}, "ids": []any{1, 2}, "codes": []any{3, 4}}
	t.Run("GraphQL", func(t *testing.T) {
		r := graphql(t, base, `query($p: JSON) { run(pipeline: "p", params: $p) { data } }`, map[string]any{"p": args}, "")
		var got struct {
			Run struct{ Data struct{ S echoed } }
		}
		if len(r.Errors) > 0 || json.Unmarshal(r.Data, &got) != nil {
			t.Fatalf("errors %+v data %s", r.Errors, r.Data)
		}
		want(t, got.Run.Data.S)
		bad := graphql(t, base, `query($p: JSON) { run(pipeline: "p", params: $p) { data } }`,
			map[string]any{"p": map[string]any{"requestId": "r", "tag": []any{"x"}}}, "")
		if len(bad.Errors) != 1 || !strings.Contains(fmt.Sprint(bad.Errors[0].Extensions), "tag") {
			t.Errorf("a bad element: %+v", bad.Errors)
		}
	})
	t.Run("MCP", func(t *testing.T) {
		cs := connect(t, base, headers{}, nil)
		res := callTool(t, cs, "p", args)
		var got struct{ S echoed }
		if res.IsError || json.Unmarshal([]byte(text(res)), &got) != nil {
			t.Fatalf("tool result: %s", text(res))
		}
		want(t, got.S)
		tools, err := cs.ListTools(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		schema, _ := json.Marshal(tools.Tools[0].InputSchema)
		for _, w := range []string{`"tag":{"items":{"enum":["a","b","c"],"type":"string"},"maxItems":3,"type":"array"}`, `"requestId":{"type":"string"}`} {
			if !strings.Contains(string(schema), w) {
				t.Errorf("input schema %s lacks %s", schema, w)
			}
		}
	})
	t.Run("OpenAPI", func(t *testing.T) {
		_, body := getH(t, base+"/openapi.json", nil)
		var doc struct {
			Paths map[string]struct {
				Get struct{ Parameters json.RawMessage }
			}
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		const want = `[{"name":"X-Request-Id","in":"header","required":true,"schema":{"type":"string"},"x-manifold-param":"requestId"},` +
			`{"name":"page[size]","in":"query","schema":{"type":"integer","maximum":50},"x-manifold-param":"pageSize"},` +
			`{"name":"tag","in":"query","style":"form","explode":true,"schema":{"type":"array","maxItems":3,"items":{"type":"string","enum":["a","b","c"]}}},` +
			`{"name":"ids","in":"query","style":"form","explode":false,"schema":{"type":"array","items":{"type":"integer"}}},` +
			`{"name":"X-Codes","in":"header","style":"simple","explode":false,"schema":{"type":"array","items":{"type":"integer"}},"x-manifold-param":"codes"}]`
		if got := string(doc.Paths["/p"].Get.Parameters); got != want {
			t.Errorf("parameters:\n%s\nwant\n%s", got, want)
		}
	})
}

func getH(t *testing.T, u string, h http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func first(h map[string][]string, k string) string {
	if vs := h[k]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// hasEntry reports whether a problem lists {in, name, reason}.
func hasEntry(body []byte, in, name, reason string) bool {
	var p struct {
		Errors []struct{ In, Name, Reason string }
	}
	_ = json.Unmarshal(body, &p)
	for _, e := range p.Errors {
		if e.In == in && e.Name == name && e.Reason == reason {
			return true
		}
	}
	return false
}
