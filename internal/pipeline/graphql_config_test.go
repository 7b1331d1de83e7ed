package pipeline

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestGraphQLConfig checks the defaults and checks of gateway.yaml's
// graphql block.
func TestGraphQLConfig(t *testing.T) {
	cases := []struct {
		name, block string
		want        GraphQLConfig // Introspection compared through IntrospectionOn
		introspect  bool
		err         string
	}{
		{"defaults", "", GraphQLConfig{MaxDepth: 10, MaxComplexity: 500}, true, ""},
		{"set", "graphql: {introspection: false, max_depth: 4, max_complexity: 50}\n", GraphQLConfig{MaxDepth: 4, MaxComplexity: 50}, false, ""},
		{"negative", "graphql: {max_depth: -1, max_complexity: -2}\n", GraphQLConfig{}, false, "graphql.max_depth: must not be negative"},
		{"unknown key", "graphql: {playground: false}\n", GraphQLConfig{}, false, `graphql.playground: unknown key "playground"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"gateway.yaml": {Data: []byte("upstreams:\n  up: {url: \"http://127.0.0.1:1\"}\n" + c.block)},
				"a.yaml":       {Data: []byte("name: a\npath: /a\nsteps:\n  s: {upstream: up, path: /}\n")},
			}
			plan, err := Load(fsys, ".", LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			g := plan.Gateway.GraphQL
			if g.MaxDepth != c.want.MaxDepth || g.MaxComplexity != c.want.MaxComplexity || g.IntrospectionOn() != c.introspect {
				t.Errorf("got depth %d complexity %d introspection %t, want %d %d %t",
					g.MaxDepth, g.MaxComplexity, g.IntrospectionOn(), c.want.MaxDepth, c.want.MaxComplexity, c.introspect)
			}
		})
	}
}
