package connectors

import (
	"net/http"
	"net/url"
	"testing"
)

func TestKey(t *testing.T) {
	base := func() *Request {
		return &Request{Method: "GET", Path: "/m", Query: url.Values{"a": {"1"}, "b": {"2"}},
			Header: http.Header{"X-A": {"1"}, "X-B": {"2"}}}
	}
	k := keyer{name: "markets", kind: KindHTTP}
	tests := []struct {
		name string
		edit func(*Request)
		same bool
	}{
		{"identical", func(*Request) {}, true},
		{"query order", func(r *Request) { r.Query = url.Values{"b": {"2"}, "a": {"1"}} }, true},
		{"header case", func(r *Request) { r.Header = http.Header{"x-b": {"2"}, "X-A": {"1"}} }, true},
		{"method", func(r *Request) { r.Method = "HEAD" }, false},
		{"path", func(r *Request) { r.Path = "/n" }, false},
		{"query value", func(r *Request) { r.Query.Set("a", "2") }, false},
		{"header value", func(r *Request) { r.Header.Set("X-A", "2") }, false},
		{"header smuggled in a value", func(r *Request) { r.Header = http.Header{"X-A": {"1\x00X-B\x002"}} }, false},
		{"header split in values", func(r *Request) { r.Header = http.Header{"X-A": {"1", "X-B", "2"}} }, false},
		{"body", func(r *Request) { r.Body = []byte(`{}`) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			tt.edit(r)
			if same := k.key(base()) == k.key(r); same != tt.same {
				t.Errorf("same key: %v, want %v", same, tt.same)
			}
		})
	}
	other := keyer{name: "deals", kind: KindHTTP}
	if k.key(base()) == other.key(base()) {
		t.Error("two upstreams share a key")
	}
}

func TestIsGraphQLQuery(t *testing.T) {
	tests := []struct {
		envelope string
		want     bool
	}{
		{`{"query":"{ product { name } }"}`, true},
		{`{"query":"query P($id: ID!) { product(id: $id) { name } }"}`, true},
		{`{"query":"query { a(note: \"mutation\") }"}`, true},
		{`{"query":"# mutation\n{ a }"}`, true},
		{`{"query":"query($mutation: ID) { a }"}`, true},
		{`{"query":"{ mutation }"}`, true},
		{`{"query":"mutation { buy }"}`, false},
		{`{"query":"  mutation M { buy }"}`, false},
		{`{"query":"query A { a } mutation B { b }"}`, false},
		{`{"query":"subscription { deals }"}`, false},
		{`{"query":""}`, false},
		{`not json`, false},
	}
	for _, tt := range tests {
		if got := isGraphQLQuery([]byte(tt.envelope)); got != tt.want {
			t.Errorf("isGraphQLQuery(%s) = %v, want %v", tt.envelope, got, tt.want)
		}
	}
}

func FuzzIsGraphQLQuery(f *testing.F) {
	f.Add(`mutation { a }`)
	f.Add(`query { a(s: """x""") }`)
	f.Fuzz(func(t *testing.T, doc string) {
		topLevelWords(doc) // must not panic or loop
	})
}
