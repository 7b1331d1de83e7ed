package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/textproto"
	"reflect"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Every way this port's comparison departs from KrakenD's own
// assertResponse (tests/integration.go), one line each:
//
//  1. The spec's http://localhost:8080 is the gateway's address; the request keeps Host: localhost:8080.
//  2. X-Krakend is KrakenD's product header: not compared.
//  3. X-Krakend-Completed is KrakenD's; on a 2xx, "false" is checked as Manifold-Incomplete present and "true" as absent.
//  4. Content-Type is compared by media type: JSON has no charset parameter (RFC 8259, section 11).
//  5. An error answer (4xx, 5xx) is Manifold's problem+json: its body and Content-Type are not compared to KrakenD's text; its status member must be the status.
//  6. Access-Control-Allow-Methods, -Allow-Headers, -Expose-Headers and Vary pass when they list every expected item (browsers check membership).
//  7. A body expected as a JSON text is compared as JSON (key order, whitespace, trailing newline).
//  8. In the test backend's echo ("headers"), User-Agent (a product string) and X-Forwarded-Via (KrakenD's) are removed from both sides.
//  9. In the echo, the headers Manifold sends that KrakenD does not (X-Forwarded-Proto, Forwarded, Traceparent, Tracestate, and Accept: application/json, which asks a JSON upstream for JSON) are removed from Manifold's side.
//  10. A header expected as [""] must be absent (as in KrakenD's check).
//  11. In the echo, Referer (which Go's client adds on a redirect, and Manifold does not send: the previous URL may hold a query credential) is removed from KrakenD's side.
//  12. An error answer relayed by a pass-through (proxy: true) is the upstream's own: its Content-Type is compared by media type and its body as text.
//  13. On a KrakenD no-op endpoint (a Manifold proxy: true), X-Krakend-Completed is always "false" and is not compared.
var (
	krakendOnlyHeaders = []string{"X-Krakend", "X-Krakend-Completed"}
	listHeaders        = []string{"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Expose-Headers", "Vary"}
	echoIgnoredBoth    = []string{"User-Agent", "X-Forwarded-Via"}
	echoManifoldOnly   = []string{"X-Forwarded-Proto", "Forwarded", "Traceparent", "Tracestate", "Accept"}
	echoKrakenDOnly    = []string{"Referer"}
)

// compare checks an answer against a spec's "out"; it returns every
// difference, or nil.
func compare(status int, h http.Header, body []byte, want Output) []string {
	var diffs []string
	if status != want.StatusCode {
		diffs = append(diffs, fmt.Sprintf("status: have %d, want %d", status, want.StatusCode))
	}
	for k, vs := range want.Header {
		if d := compareHeader(textproto.CanonicalMIMEHeaderKey(k), vs, h, want.StatusCode); d != "" {
			diffs = append(diffs, d)
		}
	}
	if want.StatusCode >= 400 && h.Get("Content-Type") == "application/problem+json" {
		return append(diffs, checkProblem(body, want.StatusCode)...)
	}
	if len(want.Schema) != 0 {
		return append(diffs, checkSchema(body, want.Schema)...)
	}
	if want.Body != nil {
		diffs = append(diffs, compareBody(body, want.Body)...)
	}
	return diffs
}

func compareHeader(k string, want []string, h http.Header, status int) string {
	have := h.Values(k)
	problem := h.Get("Content-Type") == "application/problem+json"
	switch {
	case k == "Content-Type" && problem && status >= 400:
		return ""
	case k == "X-Krakend-Completed":
		if status >= 300 || len(want) == 0 || want[0] == "" {
			return ""
		}
		incomplete := h.Get("Manifold-Incomplete") != ""
		if (want[0] == "false") != incomplete {
			return fmt.Sprintf("completeness: Manifold-Incomplete %q, KrakenD completed %s", h.Get("Manifold-Incomplete"), want[0])
		}
		return ""
	case slices.Contains(krakendOnlyHeaders, k):
		return ""
	case len(want) > 0 && want[0] == "":
		if len(have) > 0 {
			return fmt.Sprintf("header %s: have %q, want none", k, have)
		}
		return ""
	case k == "Content-Type":
		hm, _, _ := mime.ParseMediaType(h.Get(k))
		wm, _, _ := mime.ParseMediaType(want[0])
		if hm != wm {
			return fmt.Sprintf("header Content-Type: have %q, want %q", h.Get(k), want[0])
		}
		return ""
	case slices.Contains(listHeaders, k):
		if missing := missingItems(have, want); len(missing) > 0 {
			return fmt.Sprintf("header %s: have %q, missing %q", k, have, missing)
		}
		return ""
	}
	if !reflect.DeepEqual(have, want) {
		return fmt.Sprintf("header %s: have %q, want %q", k, have, want)
	}
	return ""
}

// missingItems lists the comma-separated items of want absent from have,
// case-insensitively.
func missingItems(have, want []string) []string {
	items := func(vs []string) []string {
		var out []string
		for _, v := range vs {
			for it := range strings.SplitSeq(v, ",") {
				out = append(out, strings.ToLower(strings.TrimSpace(it)))
			}
		}
		return out
	}
	got := items(have)
	var missing []string
	for _, w := range items(want) {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	return missing
}

func checkProblem(body []byte, status int) []string {
	var p struct {
		Status int `json:"status"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Status != status {
		return []string{fmt.Sprintf("error answer: problem %s, want status %d", body, status)}
	}
	return nil
}

func checkSchema(body []byte, schema map[string]any) []string {
	raw, _ := json.Marshal(schema)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return []string{"schema: " + err.Error()}
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("./schema.json", doc); err != nil {
		return []string{"schema: " + err.Error()}
	}
	sch, err := c.Compile("./schema.json")
	if err != nil {
		return []string{"schema: " + err.Error()}
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return []string{fmt.Sprintf("body %q is not JSON", body)}
	}
	if err := sch.Validate(v); err != nil {
		return []string{"schema: " + err.Error()}
	}
	return nil
}

func compareBody(body []byte, want any) []string {
	if s, ok := want.(string); ok {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			if strings.TrimSpace(string(body)) != strings.TrimSpace(s) {
				return []string{fmt.Sprintf("body: have %q, want %q", body, s)}
			}
			return nil
		}
		want = v
	}
	var have any
	if err := json.Unmarshal(body, &have); err != nil {
		return []string{fmt.Sprintf("body %q is not JSON", body)}
	}
	have, want = normaliseEcho(have, true), normaliseEcho(want, false)
	if !reflect.DeepEqual(have, want) {
		h, _ := json.Marshal(have)
		w, _ := json.Marshal(want)
		return []string{fmt.Sprintf("body:\n\thave %s\n\twant %s", h, w)}
	}
	return nil
}

// normaliseEcho applies normalisations 8, 9 and 11 to every "headers" object
// of the test backend's echo, wherever it is in the answer.
func normaliseEcho(v any, manifold bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if hs, ok := e.(map[string]any); ok && k == "headers" {
				for _, name := range echoIgnoredBoth {
					delete(hs, name)
				}
				only := echoKrakenDOnly
				if manifold {
					only = echoManifoldOnly
				}
				for _, name := range only {
					delete(hs, name)
				}
				continue
			}
			x[k] = normaliseEcho(e, manifold)
		}
	case []any:
		for i, e := range x {
			x[i] = normaliseEcho(e, manifold)
		}
	}
	return v
}
