package graphqlview

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Codes of operations refused by the view's own rules.
const (
	codeDepthLimit       = "DEPTH_LIMIT_EXCEEDED"
	codeIntrospectionOff = "INTROSPECTION_DISABLED"
)

// depthLimit refuses operations whose fields nest deeper than max.
// Introspection fields are not counted: the schema they walk is finite,
// GraphiQL's own introspection query nests a dozen levels, and
// gateway.yaml's introspection switch governs them.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	w := depthWalker{frags: rc.Doc.Fragments, memo: map[string]int{}, visiting: map[string]bool{}}
	if n := w.depth(rc.Operation.SelectionSet); n > d.max {
		err := gqlerror.Errorf("the operation nests fields %d levels deep; this gateway allows %d (graphql.max_depth)", n, d.max)
		errcode.Set(err, codeDepthLimit)
		return err
	}
	return nil
}

// depthWalker measures selection sets, following fragments once each.
type depthWalker struct {
	frags    ast.FragmentDefinitionList
	memo     map[string]int
	visiting map[string]bool
}

func (w depthWalker) depth(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			d = 1 + w.depth(s.SelectionSet)
		case *ast.InlineFragment:
			d = w.depth(s.SelectionSet)
		case *ast.FragmentSpread:
			d = w.fragment(s.Name)
		}
		deepest = max(deepest, d)
	}
	return deepest
}

func (w depthWalker) fragment(name string) int {
	if d, ok := w.memo[name]; ok {
		return d
	}
	f := w.frags.ForName(name)
	if f == nil || w.visiting[name] { // validation rejects both; stay safe
		return 0
	}
	w.visiting[name] = true
	d := w.depth(f.SelectionSet)
	delete(w.visiting, name)
	w.memo[name] = d
	return d
}

// introspectionOff refuses __schema and __type when gateway.yaml turns
// introspection off (graphql: {introspection: false}); __typename stays.
type introspectionOff struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = introspectionOff{}

func (introspectionOff) ExtensionName() string                   { return "IntrospectionOff" }
func (introspectionOff) Validate(graphql.ExecutableSchema) error { return nil }

func (introspectionOff) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if name := introspects(rc.Operation.SelectionSet, rc.Doc.Fragments, map[string]bool{}); name != "" {
		err := gqlerror.Errorf("introspection (%s) is turned off on this gateway (graphql.introspection)", name)
		errcode.Set(err, codeIntrospectionOff)
		return err
	}
	return nil
}

// introspects returns the first introspection root field of a root
// selection set, looking through fragments.
func introspects(set ast.SelectionSet, frags ast.FragmentDefinitionList, seen map[string]bool) string {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				return s.Name
			}
		case *ast.InlineFragment:
			if n := introspects(s.SelectionSet, frags, seen); n != "" {
				return n
			}
		case *ast.FragmentSpread:
			if f := frags.ForName(s.Name); f != nil && !seen[s.Name] {
				seen[s.Name] = true
				if n := introspects(f.SelectionSet, frags, seen); n != "" {
					return n
				}
			}
		}
	}
	return ""
}
