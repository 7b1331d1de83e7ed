package openapi

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

const orderPipeline = `
name: order
method: POST
path: /orders/{shop}
params:
  shop: {in: path, type: string}
body:
  schema: {type: object, required: [sku], properties: {sku: {type: string}, qty: {type: integer, minimum: 1}}}
steps:
  s: {upstream: api, method: POST, path: /orders, body: "${ .body }"}
`

// TestCheckPutsTheBodyBack: the handler reads the same body the
// validator read.
func TestCheckPutsTheBodyBack(t *testing.T) {
	sp := generate(t, planOf(t, map[string]string{"order.yaml": orderPipeline}))
	body := `{"sku":"p1","qty":2}`
	r := httptest.NewRequest(http.MethodPost, "/orders/berlin", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.SetPathValue("shop", "berlin")
	if err := sp.Check(r, r.URL.Query(), sp.Plan.Pipeline("order")); err != nil {
		t.Fatalf("a valid request: %v", err)
	}
	if got, _ := io.ReadAll(r.Body); string(got) != body {
		t.Errorf("body after validation %q, want %q", got, body)
	}
}

// TestCheckBodyLimit: a body over server.max_body is refused as such,
// without being read whole.
func TestCheckBodyLimit(t *testing.T) {
	sp := generate(t, planOf(t, map[string]string{
		"gateway.yaml": "server: {max_body: 64B}\nupstreams:\n  api: {url: \"http://127.0.0.1:1\"}\n",
		"order.yaml":   orderPipeline,
	}))
	r := httptest.NewRequest(http.MethodPost, "/orders/berlin", strings.NewReader(`{"sku":"`+strings.Repeat("x", 100)+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.SetPathValue("shop", "berlin")
	err := sp.Check(r, r.URL.Query(), sp.Plan.Pipeline("order"))
	if p := problem.From(err); p.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 100-byte body over a 64-byte limit: %v (status %d), want 413", err, p.Status)
	}
}

// TestCheckProblem: the error carries its problem, with every entry.
func TestCheckProblem(t *testing.T) {
	sp := generate(t, planOf(t, map[string]string{"order.yaml": orderPipeline}))
	r := httptest.NewRequest(http.MethodPost, "/orders/berlin", strings.NewReader(`{"qty":0}`))
	r.Header.Set("Content-Type", "application/json")
	r.SetPathValue("shop", "berlin")
	err := sp.Check(r, r.URL.Query(), sp.Plan.Pipeline("order"))
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.P.Status != 400 || pe.P.Type != problem.TypePrefix+"bad-request" {
		t.Fatalf("Check: %v, want a 400 bad-request problem", err)
	}
	want := `[{body /qty must be at least 1} {body /sku required}]`
	if got := strings.TrimSpace(strings.ReplaceAll(fmtEntries(pe.P.Errors), "\n", "")); got != want {
		t.Errorf("errors %s, want %s", got, want)
	}
}

func fmtEntries(v any) string {
	var b strings.Builder
	b.WriteString("[")
	for i, e := range v.([]pipeline.ParamProblem) {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString("{" + e.In + " " + e.Name + " " + e.Reason + "}")
	}
	b.WriteString("]")
	return b.String()
}

// BenchmarkCheckGET validates the demo's productSearch request (three
// query parameters) as the gateway does for every REST call.
func BenchmarkCheckGET(b *testing.B) {
	sp := generate(b, demoPlan(b))
	p := sp.Plan.Pipeline("productSearch")
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "/v1/products?q=milk&lang=fr&limit=5", nil)
		if err := sp.Check(r, r.URL.Query(), p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckPOST validates the demo's placeOrder request: a JSON body
// against its schema.
func BenchmarkCheckPOST(b *testing.B) {
	sp := generate(b, demoPlan(b))
	p := sp.Plan.Pipeline("placeOrder")
	body := `{"market_id":"ber-01","items":[{"product_id":"p1001","quantity":2},{"product_id":"p1002","quantity":1}]}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/v1/orders", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if err := sp.Check(r, r.URL.Query(), p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCheckValidatorsAgree: requests are checked by kin-openapi's own
// validator (through the document's 3.0 view) unless a schema needs JSON
// Schema 2020-12; both give the same problem entries.
func TestCheckValidatorsAgree(t *testing.T) {
	plan := planOf(t, map[string]string{"order.yaml": `
name: order
method: POST
path: /orders/{shop}
params:
  shop:  {in: path, type: string, pattern: "^[a-z]+$"}
  limit: {in: query, type: integer, minimum: 1, maximum: 9}
  lang:  {in: query, type: string, enum: [en, de]}
body:
  schema:
    type: object
    required: [sku, qty]
    additionalProperties: false
    properties:
      sku:  {type: string, pattern: "^p[0-9]+$"}
      qty:  {type: integer, minimum: 1}
      note: {type: [string, "null"], maxLength: 5}
      tags: {type: array, maxItems: 2, items: {type: string, enum: [gift, rush]}}
steps:
  s: {upstream: api, method: POST, path: /orders, body: "${ .body }"}
`})
	fast := generate(t, plan)
	if fast.routes["order"].Spec.IsOpenAPI31OrLater() {
		t.Fatal("a plain schema is checked with the JSON Schema 2020-12 validator")
	}
	slow := generate(t, plan)
	slow.routes["order"].Spec = slow.Doc
	requests := []struct{ url, body string }{
		{"/orders/Berlin?limit=0&lang=fr", `{"sku":"x","qty":0,"note":"too long","tags":["gift","x","rush"],"extra":1}`},
		{"/orders/berlin?limit=x", `{"note":5}`},
		{"/orders/berlin", `[]`},
	}
	for _, req := range requests {
		var got [2]string
		for i, sp := range []*Spec{fast, slow} {
			r := httptest.NewRequest(http.MethodPost, req.url, strings.NewReader(req.body))
			r.Header.Set("Content-Type", "application/json")
			r.SetPathValue("shop", strings.Split(strings.TrimPrefix(req.url, "/orders/"), "?")[0])
			var pe *problem.Error
			if err := sp.Check(r, r.URL.Query(), sp.Plan.Pipeline("order")); !errors.As(err, &pe) {
				t.Fatalf("%s %s: %v, want a problem", req.url, req.body, err)
			}
			got[i] = fmtEntries(pe.P.Errors)
		}
		if got[0] != got[1] {
			t.Errorf("%s %s:\n kin-openapi: %s\n 2020-12:     %s", req.url, req.body, got[0], got[1])
		}
	}
	uses2020 := generate(t, planOf(t, map[string]string{"c.yaml": `
name: c
method: POST
path: /c
body: {schema: {type: object, properties: {kind: {const: order}}}}
steps:
  s: {upstream: api, method: POST, path: /c, body: "${ .body }"}
`}))
	if !uses2020.routes["c"].Spec.IsOpenAPI31OrLater() {
		t.Error("a schema with const is not checked with the JSON Schema 2020-12 validator")
	}
	r := httptest.NewRequest(http.MethodPost, "/c", strings.NewReader(`{"kind":"refund"}`))
	r.Header.Set("Content-Type", "application/json")
	var pe *problem.Error
	if err := uses2020.Check(r, r.URL.Query(), uses2020.Plan.Pipeline("c")); !errors.As(err, &pe) || fmtEntries(pe.P.Errors) != "[{body /kind must be order}]" {
		t.Errorf("const: %v", err)
	}
}

// FuzzCheck: whatever a client sends, validation answers nil or one
// problem whose every entry says where, what and why.
func FuzzCheck(f *testing.F) {
	sp := generate(f, demoPlan(f))
	f.Add("q=milk&lang=fr&limit=5", `{"market_id":"ber-01","items":[{"product_id":"p1","quantity":1}]}`, "application/json")
	f.Add("q=&limit=1e3&lang=%ZZ", `{"items":[{}]`, "text/plain")
	f.Add("debug&&q=x", `[]`, "application/problem+json; charset=utf-8")
	f.Fuzz(func(t *testing.T, query, body, contentType string) {
		for _, name := range []string{"productSearch", "placeOrder"} {
			p := sp.Plan.Pipeline(name)
			r := httptest.NewRequest(p.Method, "/x", strings.NewReader(body))
			r.URL.RawQuery = query
			r.Header.Set("Content-Type", contentType)
			err := sp.Check(r, r.URL.Query(), p)
			if err == nil {
				continue
			}
			pr := problem.From(err)
			switch pr.Status {
			case http.StatusBadRequest, http.StatusUnsupportedMediaType:
				entries, _ := pr.Errors.([]pipeline.ParamProblem)
				if len(entries) == 0 {
					t.Fatalf("%s ?%s %q: a %d problem without entries", name, query, body, pr.Status)
				}
				for _, e := range entries {
					if e.Name == "" || e.Reason == "" || !slices.Contains([]string{"path", "query", "header", "body"}, e.In) {
						t.Fatalf("%s ?%s %q: entry %+v", name, query, body, e)
					}
				}
			case http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("%s ?%s %q: status %d: %v", name, query, body, pr.Status, err)
			}
		}
	})
}
