package graphqlview

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// TestCachesBoundedByBytes: entries are paid for by their size, the
// least recently used go first, and one over the budget is not kept.
func TestCachesBoundedByBytes(t *testing.T) {
	ctx := context.Background()
	c := newByteLRU(10_000, apqCost)
	for i := range 100 {
		c.Add(ctx, fmt.Sprint(i), strings.Repeat(" ", 1000))
		if c.Bytes() > 10_000 {
			t.Fatalf("after %d entries the cache holds %d bytes, over its 10,000", i+1, c.Bytes())
		}
	}
	if _, ok := c.Get(ctx, "99"); !ok {
		t.Error("the newest entry was evicted")
	}
	if _, ok := c.Get(ctx, "0"); ok {
		t.Error("the oldest entry is still there")
	}
	c.Add(ctx, "huge", strings.Repeat(" ", 20_000))
	if _, ok := c.Get(ctx, "huge"); ok {
		t.Error("an entry over the whole budget was kept")
	}
}

// TestDocCostFollowsTheTree: a token-dense document costs its syntax
// tree, not only its text (measured at 120 to 230 heap bytes per node).
func TestDocCostFollowsTheTree(t *testing.T) {
	var q strings.Builder
	q.WriteString("{")
	for i := range 2000 {
		fmt.Fprintf(&q, "a%d:__typename(x: [1, 2]) ", i)
	}
	q.WriteString("}")
	doc, err := parser.ParseQuery(&ast.Source{Input: q.String()})
	if err != nil {
		t.Fatal(err)
	}
	if cost, want := docCost(q.String(), doc), 2000*4*nodeBytes; cost < want {
		t.Errorf("cost %d, want at least %d (2000 fields with an argument of two values)", cost, want)
	}
	spaces := "{" + strings.Repeat(" ", 30_000) + "__typename}"
	doc, _ = parser.ParseQuery(&ast.Source{Input: spaces})
	if cost := docCost(spaces, doc); cost < 30_000 || cost > 30_000+8*nodeBytes {
		t.Errorf("a sparse query costs %d, want its length and a few nodes", cost)
	}
}
