package compat

import (
	"fmt"
	"net/http"
)

type verdict string

const (
	pass    verdict = "PASS"
	refused verdict = "REFUSED"
	fail    verdict = "FAIL"
)

// outcome is what Manifold does with one case: it passes, it refuses on
// purpose (refusal checks Manifold's own answer), or it fails (reason).
type outcome struct {
	verdict verdict
	reason  string
	refusal func(status int, h http.Header, body []byte) string
	noop    bool
	// typed: the refusal is the missing Content-Type alone; the same
	// request saying it is JSON gets the spec's answer.
	typed bool
}

func ok() outcome { return outcome{verdict: pass} }

// passThrough passes, for a KrakenD no-op endpoint: KrakenD marks its
// answers X-Krakend-Completed: false whatever happened (normalisation 13).
func passThrough() outcome { return outcome{verdict: pass, noop: true} }

// refusedWith is a deliberate refusal answered with status.
func refusedWith(reason string, status int) outcome {
	return outcome{verdict: refused, reason: reason, refusal: func(s int, h http.Header, _ []byte) string {
		if s != status || h.Get("Content-Type") != "application/problem+json" {
			return fmt.Sprintf("have %d %s, want a %d problem", s, h.Get("Content-Type"), status)
		}
		return ""
	}}
}

// typedRefusal is the 415 of a JSON body sent without Content-Type, for a
// case whose answer does not depend on the missing header: with it, the
// case passes.
func typedRefusal() outcome {
	o := refusedWith(noContentType, http.StatusUnsupportedMediaType)
	o.typed = true
	return o
}

// refusedJSON is a deliberate refusal of a non-JSON answer format: the
// answer is Manifold's JSON.
func refusedJSON(reason string) outcome {
	return outcome{verdict: refused, reason: reason, refusal: func(s int, h http.Header, _ []byte) string {
		if s != http.StatusOK || h.Get("Content-Type") != "application/json" {
			return fmt.Sprintf("have %d %s, want a 200 JSON answer", s, h.Get("Content-Type"))
		}
		return ""
	}}
}

const (
	noContentType = "a body without Content-Type stays a 415 (issue 12)"
	xmlOut        = "answers stay JSON: no XML output encoding (issue 12)"
)

// cases is every in-scope case of KrakenD's suite with Manifold's verdict.
// Out of scope (not copied): lua_1, lua_2 (Lua), botdetector_1..4 (bot
// detector), jwt_4 (auth/signer: token signing).
var cases = map[string]outcome{
	"backend_301":            ok(),
	"backend_302":            ok(),
	"backend_303":            ok(),
	"backend_307":            ok(),
	"backend_404":            ok(),
	"cel-1":                  ok(),
	"cel-2":                  ok(),
	"cel-3":                  ok(),
	"cel-4":                  ok(),
	"cel-5":                  ok(),
	"cel-6":                  ok(),
	"cel-7":                  ok(),
	"collection":             ok(),
	"cors_1":                 ok(),
	"cors_2":                 ok(),
	"cors_3":                 ok(),
	"cors_4":                 ok(),
	"cors_5":                 ok(),
	"detail_error":           ok(),
	"flatmap_1":              ok(),
	"integration_jsonschema": ok(),
	"integration_no_body":    ok(),
	"integration_schema":     ok(),
	"jsonschema_1":           typedRefusal(),
	"jwt_1":                  ok(),
	"jwt_2":                  ok(),
	"jwt_3":                  ok(),
	"jwt_5":                  ok(),
	"negotitate_json":        ok(),
	"negotitate_plain":       refusedJSON("answers stay JSON: no YAML output encoding (issue 12)"),
	"no-op_1":                passThrough(),
	"no-op_2":                passThrough(),
	"param_forwarding_1":     ok(),
	"param_forwarding_2":     ok(),
	"param_forwarding_3":     ok(),
	"param_forwarding_4":     refusedWith(noContentType, http.StatusUnsupportedMediaType),
	"query_forwarding_1":     ok(),
	"query_forwarding_2":     ok(),
	"query_forwarding_3":     ok(),
	"router_401_1":           ok(),
	"router_404":             ok(),
	"router_405":             ok(),
	"router_redirect":        refusedWith("paths are case-sensitive: no case folding (issue 12)", http.StatusNotFound),
	"rss":                    ok(),
	"sequential_1":           ok(),
	"sequential_2":           ok(),
	"sequential_3":           ok(),
	"sequential_4":           ok(),
	"static":                 ok(),
	"timeout":                ok(),
	"xml_1":                  refusedJSON(xmlOut),
	"xml_2":                  refusedJSON(xmlOut),
}
