package pipeline

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

const wirePipeline = `
name: wire
path: /wire
params:
  requestId: {in: header, name: X-Request-Id}
  pageSize:  {name: "page[size]", type: integer}
  tag:       {type: array, items: {type: string, enum: [a, b]}, min_items: 1, max_items: 2}
  ids:       {type: array, items: {type: integer, minimum: 1}, explode: false, default: [1]}
  codes:     {in: header, name: X-Codes, type: array, items: {type: boolean}}
steps:
  s: {upstream: products, path: /s}
`

// wireRequest gives every value of a request by "in:wire name".
type wireRequest map[string][]string

func (r wireRequest) get(in, name string) []string { return r[in+":"+name] }

func TestParseWireAndArrayParams(t *testing.T) {
	c := load(t, map[string]string{"gateway.yaml": minimalGateway, "p.yaml": wirePipeline}).Pipeline("wire")
	tests := []struct {
		name    string
		req     wireRequest
		want    map[string]any
		wantErr []ParamProblem
	}{
		{name: "wire names", req: wireRequest{"header:X-Request-Id": {"r1"}, "query:page[size]": {"5"}},
			want: map[string]any{"requestId": "r1", "pageSize": 5, "ids": []any{1}}},
		{name: "repeated keys, comma-separated, header list", req: wireRequest{"query:tag": {"a", "b"}, "query:ids": {"3,4"}, "header:X-Codes": {"true, false", "true"}},
			want: map[string]any{"tag": []any{"a", "b"}, "ids": []any{3, 4}, "codes": []any{true, false, true}}},
		{name: "an empty value is absent", req: wireRequest{"query:ids": {""}}, want: map[string]any{"ids": []any{1}}},
		{name: "bad elements", req: wireRequest{"query:tag": {"a", "c"}, "query:ids": {"1,0"}, "header:X-Codes": {"yes"}},
			wantErr: []ParamProblem{
				{"query", "tag", "element 2: must be one of a, b"},
				{"query", "ids", "element 2: must be at least 1"},
				{"header", "X-Codes", `element 1: "yes" is not a boolean (true or false)`},
			}},
		{name: "counts and repeats", req: wireRequest{"query:tag": {"a", "b", "a"}, "query:ids": {"1", "2"}, "query:page[size]": {"1", "2"}},
			wantErr: []ParamProblem{
				{"query", "page[size]", "given 2 times; give it once"},
				{"query", "tag", "must have at most 2 elements"},
				{"query", "ids", "given 2 times; give it once, comma-separated"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.ParseParams(tt.req.get)
			var pe *ParamsError
			switch {
			case tt.wantErr != nil && (!errors.As(err, &pe) || !reflect.DeepEqual(pe.Problems, tt.wantErr)):
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			case tt.wantErr == nil && (err != nil || !reflect.DeepEqual(got, tt.want)):
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	t.Run("JSON arguments by key", func(t *testing.T) {
		got, err := c.ParamsFromJSON(map[string]any{"requestId": "r", "tag": []any{"a"}, "ids": "2,3"})
		want := map[string]any{"requestId": "r", "tag": []any{"a"}, "ids": []any{2, 3}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %v, %v; want %v", got, err, want)
		}
		_, err = c.ParamsFromJSON(map[string]any{"tag": []any{}})
		if err == nil || !strings.Contains(err.Error(), "query parameter tag: must have at least 1 elements") {
			t.Errorf("an empty list under min_items: %v", err)
		}
	})
}

// TestWireAndArrayLoadErrors: each bad declaration gives exactly one
// error, at its own line.
func TestWireAndArrayLoadErrors(t *testing.T) {
	tests := []struct{ decl, want string }{
		{`{in: header, name: "X Bad"}`, `params.x.name: "X Bad" is not a valid header name`},
		{`{type: array, items: {type: array}}`, `params.x.items.type: "array": want string, integer, number or boolean`},
		{`{type: array, enum: [a]}`, `params.x.enum: enum applies to each element of an array: write it under items`},
		{`{type: array, style: simple}`, `params.x.style: "simple": a query array is style form (explode: true for ?tag=a&tag=b, false for ?tag=a,b)`},
		{`{in: header, type: array, explode: true}`, `params.x.explode: a header array is comma-separated: explode applies to query arrays`},
		{`{type: array, min_items: 3, max_items: 2}`, `params.x.min_items: min_items 3 is above max_items 2`},
		{`{type: array, items: {type: integer}, default: [1, x]}`, `params.x.default[1]: "x" is not an integer`},
		{`{type: array, default: a}`, `params.x.default: want a list of string values`},
		{`{type: array, max_items: 1, default: [a, b]}`, `params.x.default: must have at most 1 elements`},
		{`{type: string, explode: false}`, `params.x.explode: explode is only for type: array`},
		{`{type: array, items: {type: integer, minimun: 1}}`, `params.x.items.minimun: unknown key "minimun": did you mean minimum?`},
	}
	for _, tt := range tests {
		t.Run(tt.decl, func(t *testing.T) {
			loadOneError(t, "name: p\npath: /p\nparams:\n  x: "+tt.decl+"\nsteps:\n  s: {upstream: products, path: /s}\n", 4, tt.want)
		})
	}
}

func TestDuplicateWireNames(t *testing.T) {
	loadOneError(t, "name: p\npath: /p/{x}\nparams:\n  x: {in: path, name: y}\nsteps:\n  s: {upstream: products, path: /s}\n",
		4, `params.x.name: a path parameter is named by its {x} in the path: remove name`)
	loadOneError(t, "name: p\npath: /p\nparams:\n  a: {in: header, name: X-Id}\n  b: {in: header, name: x-id}\nsteps:\n  s: {upstream: products, path: /s}\n",
		5, `params.b: header parameter "x-id" is already the wire name of params.a`)
	loadOneError(t, "name: p\npath: /p\nparams:\n  size: {}\n  b: {name: size}\nsteps:\n  s: {upstream: products, path: /s}\n",
		5, `params.b: query parameter "size" is already the wire name of params.size`)
}

// loadOneError loads one pipeline and wants exactly one error, at line.
func loadOneError(t *testing.T, pipeline string, line int, want string) {
	t.Helper()
	_, err := Load(mapFS(map[string]string{"gateway.yaml": minimalGateway, "p.yaml": pipeline}), "", LoadOptions{LookupEnv: lookupTestEnv})
	es, ok := yamlconf.AsErrors(err)
	if !ok || len(es) != 1 {
		t.Fatalf("Load = %v, want exactly one error", err)
	}
	if got := es[0].Key + ": " + es[0].Msg; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if es[0].Line != line || !strings.HasPrefix(es[0].Error(), "p.yaml:") {
		t.Errorf("error %q at line %d, want p.yaml line %d", es[0], es[0].Line, line)
	}
}
