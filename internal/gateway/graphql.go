package gateway

import (
	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// GraphQL view defaults (gateway.yaml `graphql:`).
const (
	DefaultGraphQLMaxDepth      = 10
	DefaultGraphQLMaxComplexity = 500
	// DefaultGraphQLMaxQueryBytes fits GraphiQL's introspection query
	// (about 2 KiB) many times over, and hand-written operations easily.
	DefaultGraphQLMaxQueryBytes = 32 << 10
	// DefaultGraphQLMaxOperationsPerConnection is what a GraphiQL tab or
	// an app with a few live views holds on one WebSocket.
	DefaultGraphQLMaxOperationsPerConnection = 10
	// Every finished call is fanned out to each subscription: these bound
	// that work as well as the goroutines and buffers subscriptions hold.
	DefaultGraphQLMaxSubscriptions          = 1024
	DefaultGraphQLMaxSubscriptionsPerClient = 32
	// DefaultGraphQLRunsRate keeps the runs subscription to a few per cent
	// of a core however many watch it (a delivery costs a few µs), and is
	// far more than a person reads in a playground.
	DefaultGraphQLRunsRate = "1000/sec"
)

// IntrospectionOn reports whether the GraphQL view answers introspection.
func (g GraphQL) IntrospectionOn() bool { return g.Introspection == nil || *g.Introspection }

func applyGraphQLDefaults(g *GraphQL) {
	if g.Introspection == nil {
		on := true
		g.Introspection = &on
	}
	if g.MaxDepth == 0 {
		g.MaxDepth = DefaultGraphQLMaxDepth
	}
	if g.MaxComplexity == 0 {
		g.MaxComplexity = DefaultGraphQLMaxComplexity
	}
	if g.MaxQueryBytes == 0 {
		g.MaxQueryBytes = DefaultGraphQLMaxQueryBytes
	}
	if g.MaxOperationsPerConnection == 0 {
		g.MaxOperationsPerConnection = DefaultGraphQLMaxOperationsPerConnection
	}
	if g.MaxSubscriptions == 0 {
		g.MaxSubscriptions = DefaultGraphQLMaxSubscriptions
	}
	if g.MaxSubscriptionsPerClient == 0 {
		g.MaxSubscriptionsPerClient = min(DefaultGraphQLMaxSubscriptionsPerClient, g.MaxSubscriptions)
	}
	if g.RunsRate == nil {
		r, _ := yamlconf.ParseRate(DefaultGraphQLRunsRate) // a constant known to parse
		g.RunsRate = &r
	}
}

func (l *loader) validateGraphQL(d *yamlconf.Doc, g GraphQL, at func(keys ...string) ast.Node) {
	for _, c := range []struct {
		key string
		n   int64
	}{
		{"max_depth", int64(g.MaxDepth)},
		{"max_complexity", int64(g.MaxComplexity)},
		{"max_operations_per_connection", int64(g.MaxOperationsPerConnection)},
		{"max_subscriptions", int64(g.MaxSubscriptions)},
	} {
		if c.n < 0 {
			l.Errorf(d.File, at("graphql", c.key), "graphql."+c.key, "must not be negative")
		}
	}
	if g.MaxSubscriptionsPerClient < 0 || g.MaxSubscriptionsPerClient > g.MaxSubscriptions {
		l.Errorf(d.File, at("graphql", "max_subscriptions_per_client"), "graphql.max_subscriptions_per_client",
			"must be between 0 and max_subscriptions (%d)", g.MaxSubscriptions)
	}
}
