package graphqlview

import (
	"fmt"
	"net/http"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// GraphQL validation compares every pair of fields that share a response
// name in a selection set (the OverlappingFieldsCanBeMerged rule), and it
// runs before the complexity limit: a 32 KB query of 2,900 `__typename`s
// cost half a second of CPU to refuse. So a document is measured before
// gqlgen validates it, in linear time: more fields than
// graphql.max_complexity allows (one per field) could never run anyway,
// and no real operation asks for one response name dozens of times in one
// selection set.
const (
	// shapeFrom is the query length from which the shape is checked: a
	// shorter document cannot hold enough fields to be costly.
	shapeFrom = 1 << 10
	// maxRepeats is how often one response name may appear in one
	// selection set (inline fragments included).
	maxRepeats = 16

	codeTooManyFields  = "TOO_MANY_FIELDS"
	RefusedFieldCount  = "graphql.max_complexity"
	RefusedFieldRepeat = "graphql.repeated_fields"
)

// checkShape refuses a document with more than maxFields fields, or with
// a response name repeated more than maxRepeats times in one selection
// set. A document that does not parse is left to gqlgen, which reports
// the syntax error.
func checkShape(query string, maxFields int) (*requestError, string) {
	if len(query) < shapeFrom {
		return nil, ""
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, ParserTokenLimit)
	if err != nil {
		return nil, ""
	}
	s := shape{frags: doc.Fragments, flat: map[string]map[string]int{}}
	for _, op := range doc.Operations {
		s.walk(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		s.walk(f.SelectionSet)
	}
	switch {
	case maxFields > 0 && s.fields > maxFields:
		return &requestError{http.StatusBadRequest, codeTooManyFields,
			fmt.Sprintf("the document selects %d fields; this gateway runs at most %d (graphql.max_complexity)", s.fields, maxFields)}, RefusedFieldCount
	case s.repeated != "":
		return &requestError{http.StatusBadRequest, codeTooManyFields,
			fmt.Sprintf("the document asks for %q more than %d times in one selection set", s.repeated, maxRepeats)}, RefusedFieldRepeat
	}
	return nil, ""
}

// shape counts a document's fields and finds a response name repeated
// too often in one selection set, fragments included.
type shape struct {
	fields   int
	repeated string
	frags    ast.FragmentDefinitionList
	flat     map[string]map[string]int // fragment → its response names
}

func (s *shape) walk(set ast.SelectionSet) {
	names := map[string]int{}
	s.count(set, names, map[string]bool{}, true)
}

// count adds the response names of set to names (one selection set, seen
// through inline fragments and fragment spreads, each fragment once) and,
// when below is set, walks the selection sets of its fields.
func (s *shape) count(set ast.SelectionSet, names map[string]int, spread map[string]bool, below bool) {
	for _, sel := range set {
		switch f := sel.(type) {
		case *ast.Field:
			if below {
				s.fields++
			}
			name := f.Alias
			if name == "" {
				name = f.Name
			}
			s.add(names, name, 1)
			if below && len(f.SelectionSet) > 0 {
				s.walk(f.SelectionSet)
			}
		case *ast.InlineFragment:
			s.count(f.SelectionSet, names, spread, below)
		case *ast.FragmentSpread:
			if spread[f.Name] {
				continue
			}
			spread[f.Name] = true
			for name, n := range s.fragment(f.Name) {
				s.add(names, name, n)
			}
		}
	}
}

// fragment returns the response names a spread of the fragment called
// name adds to a selection set. Its fields were counted when the
// fragment's own definition was walked.
func (s *shape) fragment(name string) map[string]int {
	if names, ok := s.flat[name]; ok {
		return names
	}
	names := map[string]int{}
	s.flat[name] = names // a cycle (refused by validation) stops here
	if f := s.frags.ForName(name); f != nil {
		s.count(f.SelectionSet, names, map[string]bool{name: true}, false)
	}
	return names
}

func (s *shape) add(names map[string]int, name string, n int) {
	if names[name] += n; names[name] > maxRepeats && s.repeated == "" {
		s.repeated = name
	}
}
