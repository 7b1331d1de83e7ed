package pipeline

import (
	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Expr is a jq expression written as a plain YAML string (select, when,
// foreach, output, truncate). It is compiled when the plan is built.
type Expr struct {
	Src  string
	node ast.Node
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (e *Expr) UnmarshalYAML(n ast.Node) error {
	n = yamlconf.Unwrap(n) // tags such as !!str
	s, ok := yamlconf.ScalarText(n)
	if !ok {
		return yamlconf.ErrAt(n, "want a jq expression (a string), got %s", yamlconf.Describe(n))
	}
	*e = Expr{Src: s, node: n}
	return nil
}

// Template is any YAML value whose strings may hold `${ jq }`
// interpolations (path, query and header values, body, variables). It keeps
// its YAML node and is compiled when the plan is built.
type Template struct {
	node ast.Node
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (t *Template) UnmarshalYAML(n ast.Node) error {
	t.node = n
	return nil
}

// StepQuery is a step's `query`: a map of query parameters for an http
// upstream, or a GraphQL document for a graphql one.
type StepQuery struct {
	Params   map[string]*Template
	Order    []string // parameter names in the order written
	Document string
	node     ast.Node
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (q *StepQuery) UnmarshalYAML(n ast.Node) error {
	n = yamlconf.Unwrap(n) // tags such as !!str
	*q = StepQuery{node: n}
	if s, ok := yamlconf.ScalarText(n); ok {
		q.Document = s
		return nil
	}
	m, ok := n.(*ast.MappingNode)
	if !ok {
		return yamlconf.ErrAt(n, "want a map of query parameters (http) or a GraphQL document (graphql), got %s", yamlconf.Describe(n))
	}
	q.Params = make(map[string]*Template, len(m.Values))
	for _, kv := range m.Values {
		name := yamlconf.KeyName(kv)
		if _, dup := q.Params[name]; dup {
			return yamlconf.ErrAt(kv.Key, "duplicate query parameter %q", name)
		}
		q.Params[name] = &Template{node: kv.Value}
		q.Order = append(q.Order, name)
	}
	return nil
}
