package pipeline

import (
	"context"
	"reflect"
	"slices"
	"testing"
)

// TestFieldPathsAnswerAsJq: an expression that is only a path of field
// names is evaluated without gojq, and must answer exactly what gojq
// answers, errors included, for every kind of input.
func TestFieldPathsAnswerAsJq(t *testing.T) {
	inputs := []any{
		nil,
		map[string]any{},
		map[string]any{"a": nil},
		map[string]any{"a": map[string]any{"b": 1.5}},
		map[string]any{"a": map[string]any{"b": map[string]any{"c": "deep"}}},
		map[string]any{"a": 5.0},
		map[string]any{"a": []any{1.0}},
		map[string]any{"a": "text"},
		map[string]any{"a": map[string]any{"b": true}},
		"top",
		[]any{},
	}
	for _, src := range []string{".a", ".a.b", " .a.b.c ", ".a.b.c"} {
		fast, err := compileJQ(src)
		if err != nil {
			t.Fatal(err)
		}
		if fast.fields == nil {
			t.Fatalf("%q: not taken as a field path", src)
		}
		slow := *fast
		slow.fields = nil
		for _, in := range inputs {
			want, wantErr := slow.eval(context.Background(), in)
			got, gotErr := fast.eval(context.Background(), in)
			if (gotErr != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
				t.Errorf("%q on %#v: fast path %#v, %v; jq %#v, %v", src, in, got, gotErr, want, wantErr)
			}
		}
	}
}

func TestFieldPathDetection(t *testing.T) {
	cases := map[string][]string{
		".params.id": {"params", "id"},
		"._x9.Y":     {"_x9", "Y"},
		".a":         {"a"},
		".":          nil,
		"..":         nil,
		".a.":        nil,
		".a[0]":      nil,
		".a?":        nil,
		".a | .b":    nil,
		".1a":        nil,
		`.["a"]`:     nil,
		"$x":         nil,
		".a .b":      nil,
	}
	for src, want := range cases {
		if got := fieldPath(src); !slices.Equal(got, want) {
			t.Errorf("fieldPath(%q) = %q, want %q", src, got, want)
		}
	}
}
