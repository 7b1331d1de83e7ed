package pipeline

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/itchyny/gojq"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

func TestSplitInterpolations(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string // literals at even indexes, expressions at odd ones
		wantErr string
	}{
		{name: "plain text", in: "/products", want: []string{"/products"}},
		{name: "empty", in: "", want: []string{""}},
		{name: "a dollar alone", in: "$5 and $ {x}", want: []string{"$5 and $ {x}"}},
		{name: "one expression", in: "${ .params.q }", want: []string{"", ".params.q", ""}},
		{name: "no spaces", in: "${.a}", want: []string{"", ".a", ""}},
		{name: "text around", in: "/markets/${ .item.id }/deals", want: []string{"/markets/", ".item.id", "/deals"}},
		{name: "two expressions", in: "${.a}-${.b}", want: []string{"", ".a", "-", ".b", ""}},
		{name: "nested braces", in: "${ {target: .lang, q: {a: [.x]}} }", want: []string{"", "{target: .lang, q: {a: [.x]}}", ""}},
		{name: "closing brace in a jq string", in: `${ "}" + .a }!`, want: []string{"", `"}" + .a`, "!"}},
		{name: "opening brace in a jq string", in: `${ "{" }`, want: []string{"", `"{"`, ""}},
		{name: "escaped quote in a jq string", in: `${ "a\"}" }`, want: []string{"", `"a\"}"`, ""}},
		{name: "string interpolation", in: `${ "id-\(.a | {x: .}) }" }/x`, want: []string{"", `"id-\(.a | {x: .}) }"`, "/x"}},
		{name: "string inside string interpolation", in: `${ "\("}" + ")")" }`, want: []string{"", `"\("}" + ")")"`, ""}},
		{name: "join with an escaped comma", in: `${ [.ids[]] | join(",") }`, want: []string{"", `[.ids[]] | join(",")`, ""}},
		{name: "unterminated", in: "/products/${ .params.id", wantErr: "unterminated ${: missing }"},
		{name: "unterminated nested", in: "${ {a: 1 }", wantErr: "unterminated ${: missing }"},
		{name: "unterminated string", in: `${ "abc }`, wantErr: "unterminated string in ${ }"},
		{name: "unterminated string interpolation", in: `${ "a\(.b }`, wantErr: `unterminated \( in string`},
		{name: "empty expression", in: "/x/${  }", wantErr: "empty ${ } at offset 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitInterpolations(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("splitInterpolations(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("splitInterpolations(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitInterpolations(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// renderString compiles s as a template string and renders it against in.
func renderString(t *testing.T, s string, in any) any {
	t.Helper()
	tm, err := compileString(valueNode(t, "x"), s)
	if err != nil {
		t.Fatalf("compile %q: %v", s, err)
	}
	v, err := tm.render(t.Context(), in)
	if err != nil {
		t.Fatalf("render %q: %v", s, err)
	}
	return v
}

var templateInput = map[string]any{
	"params": map[string]any{
		"n": 3, "whole": 3.0, "half": 2.5, "big": 1e20, "tiny": 1e-7, "neg": -4.0,
		"s": "milk", "t": true, "null": nil,
		"list": []any{1, "a"}, "obj": map[string]any{"k": "v"},
	},
}

// TestTemplateKeepsType checks that a string that is exactly one ${ }
// becomes the JSON value of its expression, not its text.
func TestTemplateKeepsType(t *testing.T) {
	tests := []struct {
		src  string
		want any
	}{
		{"${ .params.n }", 3},
		{"${.params.half}", 2.5},
		{"${ .params.s }", "milk"},
		{"${ .params.t }", true},
		{"${ .params.null }", nil},
		{"${ .params.missing }", nil},
		{"${ .params.list }", []any{1, "a"}},
		{"${ .params.obj }", map[string]any{"k": "v"}},
		{"${ {q: .params.s, n: (.params.n + 1)} }", map[string]any{"q": "milk", "n": 4}},
		{"${ empty }", nil},                    // no output: null
		{"${ .params.list[] }", []any{1, "a"}}, // several outputs: an array of them
		{"no interpolation", "no interpolation"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got := renderString(t, tt.src, templateInput)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("render(%q) = %#v, want %#v", tt.src, got, tt.want)
			}
		})
	}
}

// TestTemplateConcatenation checks how values are written into text.
func TestTemplateConcatenation(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"n=${ .params.n }", "n=3"},
		{"n=${ .params.whole }", "n=3"}, // whole floats without .0
		{"n=${ .params.neg }", "n=-4"},
		{"n=${ .params.half }", "n=2.5"},
		{"n=${ .params.big }", "n=100000000000000000000"}, // no exponent
		{"n=${ .params.tiny }", "n=0.0000001"},
		{"n=${ 10 / 4 }", "n=2.5"},
		{"s=${ .params.s }!", "s=milk!"},
		{"t=${ .params.t }", "t=true"},
		{"null=${ .params.null }.", "null=."}, // null as empty
		{"list=${ .params.list }", `list=[1,"a"]`},
		{"obj=${ .params.obj }", `obj={"k":"v"}`},
		{"${ .params.s } ${ .params.n }", "milk 3"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			if got := renderString(t, tt.src, templateInput); got != tt.want {
				t.Errorf("render(%q) = %#v, want %q", tt.src, got, tt.want)
			}
		})
	}
}

func TestStringify(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, ""},
		{"a b", "a b"},
		{false, "false"},
		{42, "42"},
		{int64(-7), "-7"},
		{3.0, "3"},
		{0.1, "0.1"},
		{1e15, "1000000000000000"},
		{math.Inf(1), "+Inf"},
		{new(big.Int).Lsh(big.NewInt(1), 70), "1180591620717411303424"},
		{[]any{"a", nil}, `["a",null]`},
	}
	for _, tt := range tests {
		if got := stringify(tt.in); got != tt.want {
			t.Errorf("stringify(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestTemplateStructure checks that mappings and lists are rendered with
// their strings interpolated, and other scalars kept as they are.
func TestTemplateStructure(t *testing.T) {
	n := valueNode(t, `{target: "${ .params.s }", q: ["${ .params.n }", "n${ .params.n }", 7, 1.5, true, null], deep: {x: "${ .params.list }"}}`)
	tm, err := compileTemplate(n)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.render(t.Context(), templateInput)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"target": "milk",
		"q":      []any{3, "n3", 7, 1.5, true, nil},
		"deep":   map[string]any{"x": []any{1, "a"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("render\n got %#v\nwant %#v", got, want)
	}
}

func TestPathEscaping(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"plain", "abc", "/markets/abc/deals"},
		{"number", 42, "/markets/42/deals"},
		{"space", "a b", "/markets/a%20b/deals"},
		{"unicode", "Zürich", "/markets/Z%C3%BCrich/deals"},
		{"question mark", "a?x=1", "/markets/a%3Fx=1/deals"},
		{"hash", "a#frag", "/markets/a%23frag/deals"},
		{"percent", "100%", "/markets/100%25/deals"},
		{"dots inside", "a..b", "/markets/a..b/deals"},
		{"three dots", "...", "/markets/.../deals"},
	}
	p, err := compilePath(valueNode(t, `/markets/${ .v }/deals`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.renderPath(t.Context(), map[string]any{"v": tt.value})
			if err != nil {
				t.Fatalf("renderPath(%q): %v", tt.value, err)
			}
			if got != tt.want {
				t.Errorf("renderPath(%q) = %q, want %q", tt.value, got, tt.want)
			}
		})
	}
	for _, bad := range []any{"", ".", "..", nil, "a/b", "../admin", `a\b`, "..%2Fadmin", "%2e%2e", []any{"a/b"}} {
		t.Run("refuses "+stringify(bad), func(t *testing.T) {
			_, err := p.renderPath(t.Context(), map[string]any{"v": bad})
			var pe *PathValueError
			if !errors.As(err, &pe) {
				t.Fatalf("renderPath(%#v) error = %v, want a *PathValueError", bad, err)
			}
		})
	}
}

func TestCompilePath(t *testing.T) {
	tests := []struct {
		src     string
		want    string
		wantErr string
	}{
		{src: "/products/search", want: "/products/search"},
		{src: "/städte/${ .v }", want: "/st%C3%A4dte/x"},
		{src: "/a b/${ .v }", want: "/a%20b/x"},
		{src: "products", wantErr: `path "products" must begin with /`},
		{src: "${ .v }/x", wantErr: "must begin with /"},
		{src: "[/a]", wantErr: "path must be a string"},
		{src: "/x/${ .v", wantErr: "unterminated ${"},
		{src: "/x/${ .v | }", wantErr: `invalid jq expression ".v |"`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p, err := compilePath(valueNode(t, `"`+strings.ReplaceAll(tt.src, `"`, `\"`)+`"`))
			if tt.src == "[/a]" {
				p, err = compilePath(valueNode(t, tt.src))
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("compilePath(%q) error = %v, want %q", tt.src, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.renderPath(t.Context(), map[string]any{"v": "x"})
			if err != nil || got != tt.want {
				t.Errorf("renderPath = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestExpressionsSeeNoEnvironment checks that a pipeline cannot read the
// gateway's environment or its input stream: expressions naming $ENV, env,
// input or inputs are refused (checkExprs says why, at their place), and
// underneath, gojq is given an empty environment anyway.
func TestExpressionsSeeNoEnvironment(t *testing.T) {
	t.Setenv("MANIFOLD_TEST_SECRET", "do-not-leak")
	for _, src := range []string{"$ENV", "env", "$ENV | length", "env.MANIFOLD_TEST_SECRET", "$ENV.PATH", "input", "[inputs]", "first(inputs)"} {
		t.Run(src, func(t *testing.T) {
			var impure *impureError
			if _, err := compileJQ(src); !errors.As(err, &impure) {
				t.Fatalf("compileJQ(%q) = %v, want it refused as impure", src, err)
			}
			q, err := gojq.Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			code, err := gojq.Compile(q, noEnviron)
			if err != nil {
				return // refused by gojq itself: fine
			}
			got, _ := (&program{src: src, code: code}).eval(t.Context(), map[string]any{})
			switch got {
			case nil, 0:
			default:
				if m, ok := got.(map[string]any); !ok || len(m) != 0 {
					t.Errorf("eval(%q) = %#v, want an empty object, 0 or null", src, got)
				}
			}
		})
	}
	t.Run("in a template", func(t *testing.T) {
		var impure *impureError
		if _, err := compileString(nil, "k=${ $ENV.MANIFOLD_TEST_SECRET }"); !errors.As(err, &impure) {
			t.Errorf("compile = %v, want it refused as impure", err)
		}
	})
}

func TestEvalErrors(t *testing.T) {
	p, err := compileJQ(`.a | error("boom")`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.eval(t.Context(), map[string]any{"a": 1})
	var ee *ExprError
	if !errors.As(err, &ee) || ee.Expr != `.a | error("boom")` {
		t.Fatalf("eval error = %#v, want an *ExprError naming the expression", err)
	}
	if !strings.Contains(err.Error(), "boom") {
		t.Errorf("error %q does not carry the message", err)
	}
	var impure *impureError
	if _, err := compileJQ(`1, halt, 2`); !errors.As(err, &impure) {
		t.Errorf("halt: compile error %v, want it refused as impure", err)
	}
}

// valueNode parses `v: text` and returns the node of the value.
func valueNode(t *testing.T, text string) ast.Node {
	t.Helper()
	f, err := parser.ParseBytes([]byte("v: "+text+"\n"), 0)
	if err != nil {
		t.Fatalf("parse %q: %v", text, err)
	}
	v, _ := yamlconf.Lookup(f.Docs[0].Body, "v")
	return v
}
