package graphqlview

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/vektah/gqlparser/v2/ast"
)

// Cache budgets. Both caches outlive reloads, so they are sized once;
// graphql.max_query_bytes bounds each entry.
const (
	// QueryCacheBytes bounds the parsed-query cache: query texts and an
	// estimate of their syntax trees.
	QueryCacheBytes = 32 << 20
	// APQCacheBytes bounds the automatic persisted queries.
	APQCacheBytes = 8 << 20
	// nodeBytes is what one node of a parsed document (a field, an
	// argument, a value...) takes on the heap, rounded up from
	// measurements of token-dense documents (120 to 230 bytes).
	nodeBytes = 256
	// entryBytes is the bookkeeping of one cache entry.
	entryBytes = 128
)

// byteLRU is a graphql.Cache bounded by bytes, not entries: gqlgen's lru
// counts entries, and an entry's size follows the request. The least
// recently used entries are evicted to make room; one larger than the
// whole budget is not kept.
type byteLRU[T any] struct {
	mu     sync.Mutex
	lru    *simplelru.LRU[string, sized[T]]
	used   int
	budget int
	cost   func(key string, v T) int
}

type sized[T any] struct {
	v    T
	cost int
}

var (
	_ graphql.Cache[string]             = (*byteLRU[string])(nil)
	_ graphql.Cache[*ast.QueryDocument] = (*byteLRU[*ast.QueryDocument])(nil)
)

// newByteLRU returns a cache of at most budget bytes, as cost measures
// each entry.
func newByteLRU[T any](budget int, cost func(key string, v T) int) *byteLRU[T] {
	c := &byteLRU[T]{budget: budget, cost: cost}
	// The entry count is bounded by the budget: every entry costs at
	// least entryBytes.
	c.lru, _ = simplelru.NewLRU(max(1, budget/entryBytes), func(_ string, e sized[T]) { c.used -= e.cost })
	return c
}

// Get implements graphql.Cache.
func (c *byteLRU[T]) Get(_ context.Context, key string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(key)
	return e.v, ok
}

// Add implements graphql.Cache.
func (c *byteLRU[T]) Add(_ context.Context, key string, v T) {
	n := entryBytes + c.cost(key, v)
	if n > c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(key) // an entry replaced is paid for once
	for c.used+n > c.budget {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
	c.lru.Add(key, sized[T]{v: v, cost: n})
	c.used += n
}

// Bytes is what the entries cost now.
func (c *byteLRU[T]) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// apqCost is a persisted query: its hash and its text.
func apqCost(hash, query string) int { return len(hash) + len(query) }

// docCost is a parsed query: its text (the key, which the document's
// positions also hold) and its syntax tree, estimated from its nodes.
func docCost(query string, doc *ast.QueryDocument) int {
	if doc == nil {
		return len(query)
	}
	n := 0
	for _, op := range doc.Operations {
		n += 1 + len(op.VariableDefinitions) + directivesNodes(op.Directives) + selectionNodes(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		n += 1 + directivesNodes(f.Directives) + selectionNodes(f.SelectionSet)
	}
	return len(query) + n*nodeBytes
}

func selectionNodes(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		n++
		switch s := sel.(type) {
		case *ast.Field:
			n += directivesNodes(s.Directives) + selectionNodes(s.SelectionSet)
			for _, a := range s.Arguments {
				n += 1 + valueNodes(a.Value)
			}
		case *ast.InlineFragment:
			n += directivesNodes(s.Directives) + selectionNodes(s.SelectionSet)
		case *ast.FragmentSpread:
			n += directivesNodes(s.Directives)
		}
	}
	return n
}

func directivesNodes(ds ast.DirectiveList) int {
	n := 0
	for _, d := range ds {
		n++
		for _, a := range d.Arguments {
			n += 1 + valueNodes(a.Value)
		}
	}
	return n
}

func valueNodes(v *ast.Value) int {
	if v == nil {
		return 0
	}
	n := 1
	for _, c := range v.Children {
		n += valueNodes(c.Value)
	}
	return n
}
