package fuzz

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// files is the pipeline directory every target serves: one pipeline per
// kind of input, each answering what it parsed and what its upstream got.
var files = map[string]string{
	"gateway.yaml": "upstreams:\n  echo: {url: \"http://echo.test\", retries: 0}\n",
	"item.yaml": `name: item
path: /v1/items/{id}
params:
  id: {in: path, type: string}
steps:
  s: {upstream: echo, path: "/items/${ .params.id }"}
output: "{id: .params.id, upstream_path: .s.path}"
`,
	"search.yaml": `name: search
path: /v1/search
params:
  q: {in: query, type: string, max_length: 100}
  n: {in: query, type: integer, minimum: 1, maximum: 1000}
  x: {in: query, type: number}
  flag: {in: query, type: boolean}
  lang: {in: query, type: string, enum: [en, de]}
  tag: {in: header, name: X-Tag, type: string}
steps:
  s: {upstream: echo, path: /search, query: {q: "${ .params.q }", tag: "${ .params.tag }"}}
output: "{params: .params, upstream_query: .s.query}"
`,
	"order.yaml": `name: order
method: POST
path: /v1/orders
body:
  schema:
    type: object
    required: [market_id, items]
    additionalProperties: false
    properties:
      market_id: {type: string, minLength: 1, maxLength: 40}
      note: {type: string}
      items:
        type: array
        minItems: 1
        maxItems: 5
        items:
          type: object
          required: [product_id, quantity]
          additionalProperties: false
          properties:
            product_id: {type: string}
            quantity: {type: integer, minimum: 1, maximum: 99}
steps:
  s: {upstream: echo, method: POST, path: /orders, body: "${ .body }"}
output: "{sent: .body, upstream_body: .s.body}"
`,
}

// gateway is the gateway of files, served in process with every
// upstream call answered by echo.
type gateway struct {
	h http.Handler
}

func newGateway(tb testing.TB) *gateway {
	tb.Helper()
	dir := tb.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		tb.Fatalf("load: %v", err)
	}
	log := slog.New(slog.DiscardHandler)
	gw, closeGW, err := launch.Offline(plan, launch.OfflineOptions{Logger: log,
		Transport: func(string, http.RoundTripper) http.RoundTripper { return echo{} }})
	if err != nil {
		tb.Fatalf("offline gateway: %v", err)
	}
	tb.Cleanup(closeGW)
	// The handler chain of the listener, as launch.Serve builds it: path
	// hygiene and limits first.
	srv := server.NewHTTPServer(gw, log)
	if err := server.Configure(srv, &plan.Gateway.Server, log); err != nil {
		tb.Fatalf("configure: %v", err)
	}
	return &gateway{h: srv.Handler}
}

// answer is a gateway answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (g *gateway) serve(r *http.Request) answer {
	w := httptest.NewRecorder()
	g.h.ServeHTTP(w, r)
	return answer{w.Code, w.Header(), w.Body.Bytes()}
}

// problemDoc is the part of an RFC 9457 problem the targets check.
type problemDoc struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Errors []struct {
		In, Name, Reason string
	} `json:"errors"`
}

// clientError checks that a is a 4xx problem document whose status is
// the answer's, and returns it.
func clientError(t *testing.T, what string, a answer) problemDoc {
	t.Helper()
	var p problemDoc
	if a.status < 400 || a.status > 499 {
		t.Fatalf("%s: status %d, want a 4xx for the caller's input: %s", what, a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("%s: %d with Content-Type %q, want a problem document: %s", what, a.status, ct, a.body)
	}
	if err := json.Unmarshal(a.body, &p); err != nil || p.Status != a.status || p.Type == "" {
		t.Fatalf("%s: problem %s (%v), want type and status %d", what, a.body, err, a.status)
	}
	return p
}

// echo is the upstream of every step: it answers 200 with what it got,
// {"path": escaped path, "query": {name: [values]}, "body": JSON or null}.
type echo struct{}

func (echo) RoundTrip(r *http.Request) (*http.Response, error) {
	var body any
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		if len(b) > 0 {
			if err := json.Unmarshal(b, &body); err != nil {
				body = "not JSON: " + string(b)
			}
		}
	}
	out, err := json.Marshal(map[string]any{"path": r.URL.EscapedPath(), "query": r.URL.Query(), "body": body})
	if err != nil {
		return nil, err
	}
	return &http.Response{
		StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"application/json"}},
		Body:    io.NopCloser(bytes.NewReader(out)),
		Request: r, ContentLength: int64(len(out)),
	}, nil
}

func validUTF8(s string) bool { return utf8.ValidString(s) }
