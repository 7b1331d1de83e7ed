package openapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/problem"
)

// TestPlainOperationsAnswerAsTheFilter: a request to an operation whose
// parameters are all plain strings skips openapi3filter unless a required
// parameter is missing. Whatever is sent, the answer is the one the full
// check gives, and only such operations skip it.
func TestPlainOperationsAnswerAsTheFilter(t *testing.T) {
	plan := planOf(t, map[string]string{
		"plain.yaml": `
name: plain
path: /plain/{shop}
params:
  shop:   {in: path, type: string}
  lang:   {in: query, type: string, required: true, description: Language}
  id:     {in: query, type: string, default: "0"}
  tenant: {in: header, name: X-Tenant, type: string}
steps:
  s: {upstream: api, path: /s}
`,
		"enum.yaml": `
name: enum
path: /enum
params:
  lang: {in: query, type: string, enum: [en, de]}
steps:
  s: {upstream: api, path: /s}
`,
		"number.yaml": `
name: number
path: /number
params:
  n: {in: query, type: integer}
steps:
  s: {upstream: api, path: /s}
`,
		"body.yaml": `
name: body
method: POST
path: /body
body: {schema: {type: object}}
steps:
  s: {upstream: api, method: POST, path: /s, body: "${ .body }"}
`})
	fast := generate(t, plan)
	for name, plain := range map[string]bool{"plain": true, "enum": false, "number": false, "body": false} {
		if got := fast.plain[name] != nil; got != plain {
			t.Errorf("pipeline %s: plain %t, want %t", name, got, plain)
		}
	}
	full := generate(t, plan)
	full.plain = nil
	requests := []struct{ shop, query, tenant string }{
		{"berlin", "lang=en", ""},
		{"berlin", "lang=en&id=7&id=8", "acme"},
		{"b%C3%A9rlin", "lang=%E2%9C%93&id=", "a b"},
		{"berlin", "lang=&id=1", ""},
		{"berlin", "id=1", "acme"},
		{"berlin", "lang", ""},
		{"berlin", "lang=en&lang=", ""},
		{"berlin", "lang=&lang=en", ""},
		{"berlin", "lang=" + strings.Repeat("x", 4096) + "&unknown=1", ""},
		{"", "lang=en", ""},
		{"berlin", "lang=%ZZ", ""},
	}
	p := plan.Pipeline("plain")
	for _, req := range requests {
		var got [2]string
		for i, sp := range []*Spec{fast, full} {
			r := httptest.NewRequest(http.MethodGet, "/plain/x", nil)
			r.URL.RawQuery = req.query
			r.SetPathValue("shop", req.shop)
			if req.tenant != "" {
				r.Header.Set("X-Tenant", req.tenant)
			}
			err := sp.Check(r, r.URL.Query(), p)
			var pe *problem.Error
			switch {
			case err == nil:
				got[i] = "valid"
			case errors.As(err, &pe):
				got[i] = fmtEntries(pe.P.Errors)
			default:
				got[i] = err.Error()
			}
		}
		if got[0] != got[1] {
			t.Errorf("/plain/%s?%s: %s, the full check says %s", req.shop, req.query, got[0], got[1])
		}
	}
}

// BenchmarkCheckPlainGET validates a request to an operation of plain
// string parameters (the load fixture's fan-out: one optional id), with
// and without the shortcut.
func BenchmarkCheckPlainGET(b *testing.B) {
	plan := planOf(b, map[string]string{"fan.yaml": `
name: fanOut
path: /v1/fanout
params:
  id: {in: query, type: string, default: "0", description: Request id}
steps:
  s: {upstream: api, path: /s}
`})
	p := plan.Pipeline("fanOut")
	for _, kind := range []string{"plain", "filter"} {
		sp := generate(b, plan)
		if kind == "filter" {
			sp.plain = nil
		}
		b.Run(kind, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/v1/fanout?id=42", nil)
			b.ReportAllocs()
			for b.Loop() {
				if err := sp.Check(r, r.URL.Query(), p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
