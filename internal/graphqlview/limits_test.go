package graphqlview

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// introspectionQuery is the query GraphiQL sends to load the schema
// (graphql-js getIntrospectionQuery with input value deprecation).
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}`

// TestLimits checks the depth and complexity limits of gateway.yaml, and
// that GraphiQL's own introspection query stays within them.
func TestLimits(t *testing.T) {
	g := startGateway(t, func(gw *gateway.Config) { gw.GraphQL.MaxDepth = 3 })
	runs := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			b.WriteString(` r` + string(rune('a'+i)) + `: run(pipeline: "cityDeals", params: {city: "Berlin"}) { status }`)
		}
		return b.String() + " }"
	}
	cases := []struct {
		name string
		doc  string
		code string // "" for success
	}{
		{"introspection is not counted", introspectionQuery, ""},
		{"at the limit", `{ pipelines { steps { name } access { roles } } upstreams { breaker { state } } }`, ""},
		{"at the limit through a fragment", `{ ...F } fragment F on Query { upstreams { breaker { state } } }`, ""},
		{"four runs fit", runs(4), ""},
		{"five runs are too costly", runs(5), "COMPLEXITY_LIMIT_EXCEEDED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := g.query(t, c.doc, nil, nil)
			codes := r.codes(t)
			if c.code == "" && len(codes) > 0 || c.code != "" && !slices.Contains(codes, c.code) {
				t.Errorf("codes %v, want %q\n%.400s", codes, c.code, r.body)
			}
		})
	}
	// Nothing in the schema nests deeper than 3: a limit of 2 shows the
	// refusal.
	deep := startGateway(t, func(gw *gateway.Config) { gw.GraphQL.MaxDepth = 2 })
	r := deep.query(t, `{ ...F } fragment F on Query { upstreams { breaker { state } } }`, nil, map[string]string{"Accept": gqlType})
	if r.status != 400 || !slices.Equal(r.codes(t), []string{"DEPTH_LIMIT_EXCEEDED"}) || r.hasData(t) {
		t.Errorf("depth 3 over a limit of 2: %d %s, want 400 DEPTH_LIMIT_EXCEEDED without data", r.status, r.body)
	}
}

// TestIntrospectionSwitch turns introspection off in gateway.yaml.
func TestIntrospectionSwitch(t *testing.T) {
	off := false
	cases := []struct {
		name  string
		tune  func(*gateway.Config)
		doc   string
		code  string
		leaks bool // whether a typo's answer may suggest field names
	}{
		{"on: schema", nil, `{ __schema { queryType { name } } }`, "", true},
		{"off: schema", func(gw *gateway.Config) { gw.GraphQL.Introspection = &off }, `{ __schema { queryType { name } } }`, "INTROSPECTION_DISABLED", false},
		{"off: type in a fragment", func(gw *gateway.Config) { gw.GraphQL.Introspection = &off }, `{ ... on Query { __type(name: "Run") { name } } }`, "INTROSPECTION_DISABLED", false},
		{"off: typename stays", func(gw *gateway.Config) { gw.GraphQL.Introspection = &off }, `{ __typename }`, "", false},
		{"off: catalog stays", func(gw *gateway.Config) { gw.GraphQL.Introspection = &off }, `{ pipelines { name } }`, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := startGateway(t, c.tune)
			r := g.query(t, c.doc, nil, nil)
			codes := r.codes(t)
			if c.code == "" && len(codes) > 0 || c.code != "" && !slices.Equal(codes, []string{c.code}) {
				t.Errorf("codes %v, want %q\n%s", codes, c.code, r.body)
			}
			typo := g.query(t, `{ pipeline { nam } }`, nil, nil)
			if suggests := strings.Contains(string(typo.body), "Did you mean"); suggests && !c.leaks {
				t.Errorf("with introspection off, a typo's answer suggests names: %s", typo.body)
			}
		})
	}
}

// TestPersistedQueries follows Apollo's automatic persisted query
// protocol: hash only, then hash and query, then hash only again, over
// POST and GET.
func TestPersistedQueries(t *testing.T) {
	g := startGateway(t, nil)
	doc := `{ pipeline(name: "cityDeals") { name method } }`
	sum := sha256.Sum256([]byte(doc))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	post := func(withQuery bool) reply {
		body := map[string]any{"extensions": ext}
		if withQuery {
			body["query"] = doc
		}
		b, _ := json.Marshal(body)
		return g.post(t, string(b), map[string]string{"Content-Type": "application/json"})
	}
	extJSON, _ := json.Marshal(ext)
	steps := []struct {
		name string
		send func() reply
		code string
	}{
		{"unknown hash", func() reply { return post(false) }, "PERSISTED_QUERY_NOT_FOUND"},
		{"hash with query", func() reply { return post(true) }, ""},
		{"hash alone now", func() reply { return post(false) }, ""},
		{"hash alone over GET", func() reply { return g.get(t, "extensions="+url.QueryEscape(string(extJSON)), nil) }, ""},
		{"wrong hash", func() reply {
			b, _ := json.Marshal(map[string]any{"query": "{ __typename }", "extensions": ext})
			return g.post(t, string(b), map[string]string{"Content-Type": "application/json"})
		}, "BAD_REQUEST"},
	}
	for _, s := range steps {
		r := s.send()
		codes := r.codes(t)
		if s.code == "" && (len(codes) > 0 || !strings.Contains(string(r.body), `"cityDeals"`)) || s.code != "" && !slices.Equal(codes, []string{s.code}) {
			t.Errorf("%s: %d %s, want code %q", s.name, r.status, r.body, s.code)
		}
	}
}
