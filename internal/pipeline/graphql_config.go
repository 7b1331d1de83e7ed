package pipeline

import "github.com/goccy/go-yaml/ast"

// GraphQL view defaults (gateway.yaml `graphql:`).
const (
	DefaultGraphQLMaxDepth      = 10
	DefaultGraphQLMaxComplexity = 500
)

// IntrospectionOn reports whether the GraphQL view answers introspection.
func (g GraphQLConfig) IntrospectionOn() bool { return g.Introspection == nil || *g.Introspection }

func applyGraphQLDefaults(g *GraphQLConfig) {
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
}

func (l *loader) validateGraphQL(d *doc, g GraphQLConfig, at func(keys ...string) ast.Node) {
	if g.MaxDepth < 0 {
		l.errorf(d.file, at("graphql", "max_depth"), "graphql.max_depth", "must not be negative")
	}
	if g.MaxComplexity < 0 {
		l.errorf(d.file, at("graphql", "max_complexity"), "graphql.max_complexity", "must not be negative")
	}
}
