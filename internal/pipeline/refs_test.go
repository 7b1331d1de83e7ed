package pipeline

import (
	"slices"
	"testing"

	"github.com/itchyny/gojq"
)

// TestScanRefs checks which keys of its input an expression is found to
// read by name: only where `.` is still the input.
func TestScanRefs(t *testing.T) {
	for _, tt := range []struct {
		src          string
		keys, impure []string
	}{
		{src: `.a | .b`, keys: []string{"a"}},
		{src: `.a.b, .c?`, keys: []string{"a", "c"}},
		{src: `. | .a`, keys: []string{"a"}},
		{src: `.a as $x | .b`, keys: []string{"a", "b"}},
		{src: `map(.x) | select(.y)`},
		{src: `select(.y) | .z`, keys: []string{"y"}},
		{src: `{z, w: .v, (.k): 1, "\(.s)": 2}`, keys: []string{"z", "v", "k", "s"}},
		{src: `reduce .r[] as $x (.s; .t)`, keys: []string{"r", "s"}},
		{src: `.a[.b]`, keys: []string{"a", "b"}},
		{src: `try .c catch .d`, keys: []string{"c"}},
		{src: `."e", .["f"], .[$k], .["g\(.h)"]`, keys: []string{"e", "f", "h"}},
		{src: `if .i then .j elif .k then .l else .m end`, keys: []string{"i", "j", "k", "l", "m"}},
		{src: `def g: .h; g`},
		{src: `.a |= .b`, keys: []string{"a"}},
		{src: `[.x[] | .y] | length`, keys: []string{"x"}},
		{src: `$ENV.X, env, input, $__loc__, debug("x"), now`, impure: []string{"$ENV", "env", "input", "$__loc__", "debug"}},
		{src: `def env: {}; env`},
		{src: `sort_by(.p) | first(.q)`},
		{src: `first(.q) | .r`, keys: []string{"q"}},
	} {
		t.Run(tt.src, func(t *testing.T) {
			q, err := gojq.Parse(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			got := scanRefs(q)
			if !slices.Equal(got.keys, tt.keys) || !slices.Equal(got.impure, tt.impure) {
				t.Errorf("scanRefs = keys %q, impure %q; want %q, %q", got.keys, got.impure, tt.keys, tt.impure)
			}
		})
	}
}

// TestStaticKind checks the types a foreach can be told to have.
func TestStaticKind(t *testing.T) {
	p := &Pipeline{Params: map[string]*Param{"city": {Type: "string"}, "n": {Type: "integer"}}}
	for src, want := range map[string]string{
		`.params`: kindObject, `.params.city`: kindString, `.params.n`: kindNumber, `(.params.n)`: kindNumber,
		`.consumer`: kindObject, `.consumer.roles`: kindArray, `[1]`: kindArray, `{}`: kindObject,
		`"x"`: kindString, `1`: kindNumber, `true`: kindBoolean, `null`: kindNull,
		`.params.other`: kindUnknown, `.geo.results`: kindUnknown, `.params | keys`: kindUnknown,
		`.params.city[]`: kindUnknown, `"x" | length`: kindUnknown, `.body`: kindUnknown,
	} {
		q, err := gojq.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := staticKind(q, p); got != want {
			t.Errorf("staticKind(%s) = %q, want %q", src, got, want)
		}
	}
}
