package pipeline

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// TestGraphQLConfig checks the defaults and checks of gateway.yaml's
// graphql block.
func TestGraphQLConfig(t *testing.T) {
	cases := []struct {
		name, block string
		want        gateway.GraphQL // Introspection compared through IntrospectionOn
		introspect  bool
		err         string
	}{
		{"defaults", "", gateway.GraphQL{MaxDepth: 10, MaxComplexity: 500, MaxQueryBytes: 32 << 10,
			MaxOperationsPerConnection: 10, MaxSubscriptions: 1024, MaxSubscriptionsPerClient: 32}, true, ""},
		{"bounds", "graphql: {max_query_bytes: 8KiB, max_operations_per_connection: 3, max_subscriptions: 20, max_subscriptions_per_client: 5}\n",
			gateway.GraphQL{MaxDepth: 10, MaxComplexity: 500, MaxQueryBytes: 8 << 10,
				MaxOperationsPerConnection: 3, MaxSubscriptions: 20, MaxSubscriptionsPerClient: 5}, true, ""},
		{"per client under the total", "graphql: {max_subscriptions: 8}\n",
			gateway.GraphQL{MaxDepth: 10, MaxComplexity: 500, MaxQueryBytes: 32 << 10,
				MaxOperationsPerConnection: 10, MaxSubscriptions: 8, MaxSubscriptionsPerClient: 8}, true, ""},
		{"per client over the total", "graphql: {max_subscriptions: 4, max_subscriptions_per_client: 5}\n", gateway.GraphQL{}, false,
			"graphql.max_subscriptions_per_client: must be between 0 and max_subscriptions (4)"},
		{"negative query bytes", "graphql: {max_query_bytes: -1}\n", gateway.GraphQL{}, false, `graphql.max_query_bytes: invalid size "-1"`},
		{"set", "graphql: {introspection: false, max_depth: 4, max_complexity: 50}\n", gateway.GraphQL{MaxDepth: 4, MaxComplexity: 50,
			MaxQueryBytes: 32 << 10, MaxOperationsPerConnection: 10, MaxSubscriptions: 1024, MaxSubscriptionsPerClient: 32}, false, ""},
		{"negative", "graphql: {max_depth: -1, max_complexity: -2}\n", gateway.GraphQL{}, false, "graphql.max_depth: must not be negative"},
		{"unknown key", "graphql: {playground: false}\n", gateway.GraphQL{}, false, `graphql.playground: unknown key "playground"`},
		{"runs rate", "graphql: {runs_rate: 50/sec}\n", gateway.GraphQL{MaxDepth: 10, MaxComplexity: 500, MaxQueryBytes: 32 << 10,
			MaxOperationsPerConnection: 10, MaxSubscriptions: 1024, MaxSubscriptionsPerClient: 32}, true, ""},
		{"bad runs rate", "graphql: {runs_rate: lots}\n", gateway.GraphQL{}, false, "graphql.runs_rate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, err := loadGatewayBlock(c.block)
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
			if g.IntrospectionOn() != c.introspect {
				t.Errorf("introspection %t, want %t", g.IntrospectionOn(), c.introspect)
			}
			g.Introspection = nil
			wantRate := gateway.DefaultGraphQLRunsRate
			if strings.Contains(c.block, "runs_rate") {
				wantRate = "50/sec"
			}
			if g.RunsRate == nil || g.RunsRate.String() != wantRate {
				t.Errorf("runs_rate %v, want %s", g.RunsRate, wantRate)
			}
			g.RunsRate = nil
			if g != c.want {
				t.Errorf("got %+v\nwant %+v", g, c.want)
			}
		})
	}
}

// loadGatewayBlock loads a directory whose gateway.yaml has one upstream
// plus block, with one pipeline on it and an empty environment.
func loadGatewayBlock(block string) (*Plan, error) {
	fsys := fstest.MapFS{
		"gateway.yaml": {Data: []byte("upstreams:\n  up: {url: \"http://127.0.0.1:1\"}\n" + block)},
		"a.yaml":       {Data: []byte("name: a\npath: /a\nsteps:\n  s: {upstream: up, path: /}\n")},
	}
	return Load(fsys, ".", LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
}
