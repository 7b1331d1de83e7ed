package graphqlview

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestGraphQLOverHTTP checks the answers the GraphQL-over-HTTP
// specification asks for: media types, status codes and the absence of
// data on request errors.
func TestGraphQLOverHTTP(t *testing.T) {
	g := startGateway(t, nil)
	const ok = `{"query":"{ __typename }"}`
	cases := []struct {
		name        string
		method      string
		body        string // POST body, or GET query string
		contentType string
		accept      string
		status      int
		media       string // expected Content-Type media type
		code        string // expected extensions.code of the first error, "" for none
		data        bool   // whether the answer has a data entry
	}{
		{"post json", "POST", ok, "application/json", "application/json", 200, jsonType, "", true},
		{"post graphql-response+json", "POST", ok, "application/json", gqlType, 200, gqlType, "", true},
		{"no accept is json", "POST", ok, "application/json", "", 200, jsonType, "", true},
		{"*/* is json", "POST", ok, "application/json", "*/*", 200, jsonType, "", true},
		{"both named prefers graphql-response", "POST", ok, "application/json", gqlType + ", application/json", 200, gqlType, "", true},
		{"q values are honoured", "POST", ok, "application/json", gqlType + ";q=0.5, application/json", 200, jsonType, "", true},
		{"utf-8 charset", "POST", ok, "application/json; charset=utf-8", "", 200, jsonType, "", true},
		{"nothing acceptable", "POST", ok, "application/json", "text/csv", 406, jsonType, "NOT_ACCEPTABLE", false},
		{"no content type", "POST", ok, "", "", 415, jsonType, "UNSUPPORTED_MEDIA_TYPE", false},
		{"form content type", "POST", "query=%7B__typename%7D", "application/x-www-form-urlencoded", "", 415, jsonType, "UNSUPPORTED_MEDIA_TYPE", false},
		{"latin-1 charset", "POST", ok, "application/json; charset=latin1", "", 415, jsonType, "UNSUPPORTED_MEDIA_TYPE", false},
		{"empty body", "POST", "", "application/json", "", 400, jsonType, "BAD_REQUEST", false},
		{"body not json", "POST", `{"query":`, "application/json", gqlType, 400, gqlType, "BAD_REQUEST", false},
		{"body an array", "POST", `[{"query":"{ __typename }"}]`, "application/json", "", 400, jsonType, "BAD_REQUEST", false},
		{"no query", "POST", `{"qeury":"{ __typename }"}`, "application/json", "", 400, jsonType, "BAD_REQUEST", false},
		{"query a number", "POST", `{"query":1}`, "application/json", gqlType, 400, gqlType, "BAD_REQUEST", false},
		{"operationName an object", "POST", `{"query":"{ __typename }","operationName":{}}`, "application/json", "", 400, jsonType, "BAD_REQUEST", false},
		{"variables a string", "POST", `{"query":"{ __typename }","variables":"{}"}`, "application/json", "", 400, jsonType, "BAD_REQUEST", false},
		{"extensions an array", "POST", `{"query":"{ __typename }","extensions":[]}`, "application/json", "", 400, jsonType, "BAD_REQUEST", false},
		{"nulls are absent", "POST", `{"query":"{ __typename }","variables":null,"operationName":null,"extensions":null}`, "application/json", gqlType, 200, gqlType, "", true},
		{"parse failure json", "POST", `{"query":"{"}`, "application/json", "application/json", 200, jsonType, "GRAPHQL_PARSE_FAILED", false},
		{"parse failure graphql-response", "POST", `{"query":"{"}`, "application/json", gqlType, 400, gqlType, "GRAPHQL_PARSE_FAILED", false},
		{"validation failure json", "POST", `{"query":"{ nope }"}`, "application/json", "application/json", 200, jsonType, "GRAPHQL_VALIDATION_FAILED", false},
		{"validation failure graphql-response", "POST", `{"query":"{ nope }"}`, "application/json", gqlType, 400, gqlType, "GRAPHQL_VALIDATION_FAILED", false},
		{"variable coercion graphql-response", "POST", `{"query":"query Q($n: String!) { pipeline(name: $n) { name } }","variables":{"n":null}}`, "application/json", gqlType, 400, gqlType, "GRAPHQL_VALIDATION_FAILED", false},
		{"unknown operation", "POST", `{"query":"query A { __typename }","operationName":"B"}`, "application/json", gqlType, 400, gqlType, "GRAPHQL_VALIDATION_FAILED", false},
		{"subscription over POST", "POST", `{"query":"subscription { runs { requestId } }"}`, "application/json", gqlType, 400, gqlType, "BAD_REQUEST", false},
		{"get query", "GET", "query=" + url.QueryEscape("{ __typename }"), "", "", 200, jsonType, "", true},
		{"get with variables", "GET", "query=" + url.QueryEscape("query Q($n: String!) { pipeline(name: $n) { name } }") + "&variables=" + url.QueryEscape(`{"n":"cityDeals"}`), "", gqlType, 200, gqlType, "", true},
		{"get variables not an object", "GET", "query=" + url.QueryEscape("{ __typename }") + "&variables=%5B%5D", "", "", 400, jsonType, "BAD_REQUEST", false},
		{"get without query", "GET", "operationName=Q", "", "", 400, jsonType, "BAD_REQUEST", false},
		{"get mutation", "GET", "query=" + url.QueryEscape(`mutation { run(pipeline: "placeOrder") { status } }`), "", gqlType, 405, gqlType, "METHOD_NOT_ALLOWED", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r reply
			if c.method == "GET" {
				r = g.get(t, c.body, map[string]string{"Accept": c.accept})
			} else {
				r = g.post(t, c.body, map[string]string{"Content-Type": c.contentType, "Accept": c.accept})
			}
			if r.status != c.status {
				t.Errorf("status %d, want %d\n%s", r.status, c.status, r.body)
			}
			if mt := strings.Split(r.header.Get("Content-Type"), ";")[0]; mt != c.media {
				t.Errorf("Content-Type %q, want %s", r.header.Get("Content-Type"), c.media)
			}
			codes := r.codes(t)
			if c.code == "" && len(codes) > 0 || c.code != "" && (len(codes) == 0 || codes[0] != c.code) {
				t.Errorf("error codes %v, want %q\n%s", codes, c.code, r.body)
			}
			if got := r.hasData(t); got != c.data {
				t.Errorf("data entry present: %v, want %v\n%s", got, c.data, r.body)
			}
		})
	}
}

// TestMethods covers what /graphql answers besides GET and POST.
func TestMethods(t *testing.T) {
	g := startGateway(t, nil)
	cases := []struct {
		method string
		status int
		allow  string
	}{
		{http.MethodOptions, 204, "GET, POST, OPTIONS"},
		{http.MethodPut, 405, "GET, POST, OPTIONS"},
		{http.MethodDelete, 405, "GET, POST, OPTIONS"},
	}
	for _, c := range cases {
		t.Run(c.method, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, g.url+Path, nil)
			r := do(t, req)
			if r.status != c.status || r.header.Get("Allow") != c.allow {
				t.Errorf("%s: %d Allow %q, want %d Allow %q", c.method, r.status, r.header.Get("Allow"), c.status, c.allow)
			}
		})
	}
	r := g.get(t, "query="+url.QueryEscape("mutation { __typename }"), nil)
	if r.header.Get("Allow") != "POST" {
		t.Errorf("GET mutation: Allow %q, want POST", r.header.Get("Allow"))
	}
}

// TestBodyLimit refuses a body over server.max_body with 413.
func TestBodyLimit(t *testing.T) {
	g := startGateway(t, nil)
	big := `{"query":"{ __typename }","extensions":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	r := g.post(t, big, map[string]string{"Content-Type": "application/json"})
	if r.status != http.StatusRequestEntityTooLarge || !slices.Equal(r.codes(t), []string{"PAYLOAD_TOO_LARGE"}) {
		t.Errorf("status %d codes %v, want 413 PAYLOAD_TOO_LARGE", r.status, r.codes(t))
	}
}
