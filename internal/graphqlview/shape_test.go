package graphqlview

import (
	"fmt"
	"strings"
	"testing"
)

// aliases is a query of n fields, each under its own alias.
func aliases(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " a%d: __typename", i)
	}
	return b.String() + " }"
}

func TestShapeRefusesCostlyDocuments(t *testing.T) {
	padded := func(q string) string { return q + "\n#" + strings.Repeat(" ", shapeFrom) }
	cases := []struct {
		name, query, want string
	}{
		{"GraphiQL's introspection query", padded(introspectionQuery), ""},
		{"500 fields under their own aliases", aliases(500), ""},
		{"501 fields", aliases(501), "selects 501 fields"},
		{"1,990 __typename", "{" + strings.Repeat(" __typename", 1990) + " }", "selects 1990 fields"},
		{"past the token limit: left to the parser's own refusal", "{" + strings.Repeat(" __typename", 2900) + " }", ""},
		{"one alias 17 times", padded("{" + strings.Repeat(" a: __typename", 17) + " }"), `"a" more than 16 times`},
		{"16 times is fine", padded("{" + strings.Repeat(" a: __typename", 16) + " }"), ""},
		{"repeats through inline fragments", padded("{" + strings.Repeat(" ... on Query { __typename __typename }", 9) + " }"), `"__typename" more than 16`},
		{"repeats through fragment spreads", padded("{ ...A ...B } fragment A on Query {" + strings.Repeat(" __typename", 9) +
			" } fragment B on Query {" + strings.Repeat(" __typename", 9) + " }"), `"__typename" more than 16`},
		{"one fragment spread twice counts once", padded("{ ...A ...A } fragment A on Query {" + strings.Repeat(" __typename", 9) + " }"), ""},
		{"a fragment cycle is left to validation", padded("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"), ""},
		{"a short document is not parsed", "{ " + strings.Repeat("a ", 300) + "}", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rerr, _ := checkShape(c.query, 500)
			switch {
			case c.want == "" && rerr != nil:
				t.Fatalf("refused: %s", rerr.msg)
			case c.want != "" && (rerr == nil || !strings.Contains(rerr.msg, c.want) || rerr.code != codeTooManyFields):
				t.Fatalf("got %+v, want a %s refusal saying %q", rerr, codeTooManyFields, c.want)
			}
		})
	}
}

func BenchmarkShape(b *testing.B) {
	q := aliases(500)
	b.ReportAllocs()
	for b.Loop() {
		checkShape(q, 500)
	}
}
