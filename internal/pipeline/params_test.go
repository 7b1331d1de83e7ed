package pipeline

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// paramsPipeline declares one parameter of each kind of constraint.
const paramsPipeline = `
name: paramsDemo
path: /v1/things/{id}
params:
  id:    {in: path, type: integer, minimum: 1}
  q:     {type: string, required: true, min_length: 2, max_length: 5}
  lang:  {type: string, default: en, enum: [en, de]}
  limit: {type: integer, default: 5, minimum: 1, maximum: 20}
  ratio: {type: number, minimum: 0, maximum: 1}
  exact: {type: boolean, default: false}
  zip:   {type: string, pattern: "^[0-9]{5}$"}
  level: {type: integer, enum: [1, 2, 3]}
  token: {in: header, type: string, required: true}
steps:
  s: {upstream: products, path: /s}
`

// request is the raw parameters of a request, keyed "in:name".
type request map[string]string

func (r request) get(in, name string) []string {
	if v, ok := r[in+":"+name]; ok {
		return []string{v}
	}
	return nil
}

// base is a request that satisfies every required parameter.
func base(extra request) request {
	r := request{"path:id": "7", "query:q": "milk", "header:token": "t"}
	for k, v := range extra {
		if v == "<absent>" {
			delete(r, k)
			continue
		}
		r[k] = v
	}
	return r
}

func TestParseParams(t *testing.T) {
	plan := load(t, map[string]string{"gateway.yaml": minimalGateway, "p.yaml": paramsPipeline})
	c := plan.Pipeline("paramsDemo")
	defaults := map[string]any{"id": 7, "q": "milk", "lang": "en", "limit": 5, "exact": false, "token": "t"}
	with := func(kv map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range defaults {
			out[k] = v
		}
		for k, v := range kv {
			out[k] = v
		}
		return out
	}

	tests := []struct {
		name    string
		req     request
		want    map[string]any
		wantErr []ParamProblem
	}{
		{name: "defaults fill what is absent", req: base(nil), want: defaults},
		{name: "an empty query value counts as absent", req: base(request{"query:limit": "", "query:lang": ""}), want: defaults},
		{name: "typed values", req: base(request{"query:limit": "20", "query:ratio": "0.25", "query:exact": "true", "query:zip": "10115", "query:level": "2"}),
			want: with(map[string]any{"limit": 20, "ratio": 0.25, "exact": true, "zip": "10115", "level": 2})},
		{name: "integers may carry spaces", req: base(request{"query:limit": " 9 "}), want: with(map[string]any{"limit": 9})},
		{name: "whole number for a number", req: base(request{"query:ratio": "1"}), want: with(map[string]any{"ratio": 1.0})},
		{name: "enum value", req: base(request{"query:lang": "de"}), want: with(map[string]any{"lang": "de"})},
		{name: "length at the bounds", req: base(request{"query:q": "ab"}), want: with(map[string]any{"q": "ab"})},
		{name: "length counts characters, not bytes", req: base(request{"query:q": "äöüßé"}), want: with(map[string]any{"q": "äöüßé"})},

		{name: "required query parameter", req: base(request{"query:q": "<absent>"}),
			wantErr: []ParamProblem{{"query", "q", "required"}}},
		{name: "required header", req: base(request{"header:token": ""}),
			wantErr: []ParamProblem{{"header", "token", "required"}}},
		{name: "path parameter is always required", req: base(request{"path:id": "<absent>"}),
			wantErr: []ParamProblem{{"path", "id", "required"}}},
		{name: "not an integer", req: base(request{"query:limit": "1.5"}),
			wantErr: []ParamProblem{{"query", "limit", `"1.5" is not an integer`}}},
		{name: "not a number", req: base(request{"query:ratio": "NaN"}),
			wantErr: []ParamProblem{{"query", "ratio", `"NaN" is not a number`}}},
		{name: "not a boolean", req: base(request{"query:exact": "yes"}),
			wantErr: []ParamProblem{{"query", "exact", `"yes" is not a boolean (true or false)`}}},
		{name: "below minimum", req: base(request{"query:limit": "0"}),
			wantErr: []ParamProblem{{"query", "limit", "must be at least 1"}}},
		{name: "above maximum", req: base(request{"query:ratio": "1.5"}),
			wantErr: []ParamProblem{{"query", "ratio", "must be at most 1"}}},
		{name: "not in enum", req: base(request{"query:lang": "fr"}),
			wantErr: []ParamProblem{{"query", "lang", "must be one of en, de"}}},
		{name: "integer enum", req: base(request{"query:level": "4"}),
			wantErr: []ParamProblem{{"query", "level", "must be one of 1, 2, 3"}}},
		{name: "too short", req: base(request{"query:q": "m"}),
			wantErr: []ParamProblem{{"query", "q", "must be at least 2 characters"}}},
		{name: "too long", req: base(request{"query:q": "butter"}),
			wantErr: []ParamProblem{{"query", "q", "must be at most 5 characters"}}},
		{name: "pattern", req: base(request{"query:zip": "1011"}),
			wantErr: []ParamProblem{{"query", "zip", "must match ^[0-9]{5}$"}}},
		{name: "every problem at once, in declaration order",
			req: request{"path:id": "x", "query:lang": "fr", "query:limit": "99", "query:ratio": "-1", "query:exact": "1x", "query:zip": "abcde"},
			wantErr: []ParamProblem{
				{"path", "id", `"x" is not an integer`},
				{"query", "q", "required"},
				{"query", "lang", "must be one of en, de"},
				{"query", "limit", "must be at most 20"},
				{"query", "ratio", "must be at least 0"},
				{"query", "exact", `"1x" is not a boolean (true or false)`},
				{"query", "zip", "must match ^[0-9]{5}$"},
				{"header", "token", "required"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.ParseParams(tt.req.get)
			if tt.wantErr != nil {
				var pe *ParamsError
				if !errors.As(err, &pe) {
					t.Fatalf("ParseParams = %v, %v; want a *ParamsError", got, err)
				}
				if !reflect.DeepEqual(pe.Problems, tt.wantErr) {
					t.Errorf("problems:\n got %q\nwant %q", pe.Problems, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseParams: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("params:\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParamsErrorMessage(t *testing.T) {
	err := &ParamsError{Problems: []ParamProblem{{"query", "q", "required"}, {"path", "id", `"x" is not an integer`}}}
	want := `invalid request: query parameter q: required; path parameter id: "x" is not an integer`
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestParamDefaultsAreTyped checks that defaults and enum values are
// converted to the parameter's type at load time, so that an expression
// sees 5 and not 5.0 or "5".
func TestParamDefaultsAreTyped(t *testing.T) {
	plan := load(t, map[string]string{"gateway.yaml": minimalGateway, "p.yaml": paramsPipeline})
	p := plan.Pipeline("paramsDemo").Params
	checks := []struct {
		name      string
		got, want any
	}{
		{"integer default", p["limit"].Default, 5},
		{"boolean default", p["exact"].Default, false},
		{"string default", p["lang"].Default, "en"},
		{"integer enum", p["level"].Enum, []any{1, 2, 3}},
		{"string enum", p["lang"].Enum, []any{"en", "de"}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestParamIsRequired(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name  string
		param Param
		want  bool
	}{
		{"path", Param{In: "path"}, true},
		{"path with default", Param{In: "path", Default: "x"}, true},
		{"query", Param{In: "query"}, false},
		{"required query", Param{In: "query", Required: &yes}, true},
		{"required: false", Param{In: "query", Required: &no}, false},
		{"required with a default", Param{In: "header", Required: &yes, Default: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.param.IsRequired(); got != tt.want {
				t.Errorf("IsRequired() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestParamLoadErrors covers what the golden directory does not: each bad
// declaration alone, so that one mistake gives exactly one error.
func TestParamLoadErrors(t *testing.T) {
	tests := []struct {
		decl string
		want string
	}{
		{`{type: integer, default: "5"}`, `params.x.default: "5" is not an integer`},
		{`{type: number, default: true}`, `params.x.default: true is not a number`},
		{`{type: integer, minimum: 3, default: 1}`, `params.x.default: 1 must be at least 3`},
		{`{type: string, max_length: 2, default: abc}`, `params.x.default: "abc" must be at most 2 characters`},
		{`{type: string, pattern: "^a", example: b}`, `params.x.example: "b" must match ^a`},
		{`{type: integer, enum: [1, two]}`, `params.x.enum[1]: "two" is not an integer`},
		{`{type: string, min_length: -1}`, `params.x.min_length: must not be negative`},
		{`{type: integer, minimum: 5, maximum: 4}`, `params.x.minimum: minimum 5 is above maximum 4`},
		{`{type: string, min_length: 3, max_length: 2}`, `params.x.min_length: min_length 3 is above max_length 2`},
		{`{type: float}`, `params.x.type: "float": want string, integer, number, boolean or array`},
		{`{in: cookie}`, `params.x.in: "cookie": want path, query or header`},
		{`{required: "yes"}`, `params.x.required: want true or false, got "yes"`},
		{`{max_length: 2.5}`, `params.x.max_length: want an integer, got 2.5`},
	}
	for _, tt := range tests {
		t.Run(tt.decl, func(t *testing.T) {
			pipeline := "name: p\npath: /p\nparams:\n  x: " + tt.decl + "\nsteps:\n  s: {upstream: products, path: /s}\n"
			_, err := Load(mapFS(map[string]string{"gateway.yaml": minimalGateway, "p.yaml": pipeline}), "", LoadOptions{LookupEnv: lookupTestEnv})
			es, ok := yamlconf.AsErrors(err)
			if !ok || len(es) != 1 {
				t.Fatalf("Load = %v, want exactly one error", err)
			}
			if got := es[0].Key + ": " + es[0].Msg; got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
			if es[0].Line != 4 {
				t.Errorf("error at line %d, want 4 (the parameter's line)", es[0].Line)
			}
			if !strings.HasPrefix(es[0].Error(), "p.yaml:4:") {
				t.Errorf("error %q does not name p.yaml:4", es[0])
			}
		})
	}
}
