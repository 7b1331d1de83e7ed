package mcpserver

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/openapi"
)

const testGateway = "server: {max_body: 64}\nupstreams:\n  things: {url: \"http://127.0.0.1:1\"}\n"

// things declares one parameter of each kind of constraint and a body.
const things = `
name: things
summary: Update a thing
method: PUT
path: /v1/things/{id}
params:
  id:    {in: path, type: integer, minimum: 1}
  q:     {type: string, required: true, min_length: 2, description: Words, example: milk}
  lang:  {type: string, default: en, enum: [en, de]}
  ratio: {type: number, maximum: 1}
  exact: {type: boolean}
  zip:   {type: string, pattern: "^[0-9]{5}$"}
body:
  description: The thing
  schema: {type: object, required: [name], properties: {name: {type: string}}}
steps:
  s: {upstream: things, method: PUT, path: /things}
`

func loadTool(t *testing.T) (*tool, *openapi.Spec) {
	t.Helper()
	fsys := fstest.MapFS{"gateway.yaml": {Data: []byte(testGateway)}, "things.yaml": {Data: []byte(things)}}
	plan, err := pipeline.Load(fsys, "test", pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := newTool(plan.Pipeline("things"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := openapi.Build(plan)
	if err != nil {
		t.Fatal(err)
	}
	return tl, spec
}

// entries writes the entries of the problem an error answers with, as
// "in name: reason; ...", or its detail when it has none.
func entries(err error) string {
	p := problem.From(err)
	list, _ := p.Errors.([]pipeline.ParamProblem)
	if len(list) == 0 {
		return p.Detail
	}
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = e.In + " " + e.Name + ": " + e.Reason
	}
	return strings.Join(parts, "; ")
}

func TestInputSchema(t *testing.T) {
	tl, _ := loadTool(t)
	got, _ := json.Marshal(tl.def.InputSchema)
	want := `{"type":"object","properties":{` +
		`"id":{"type":"integer","minimum":1},` +
		`"q":{"type":"string","description":"Words","minLength":2,"examples":["milk"]},` +
		`"lang":{"type":"string","enum":["en","de"],"default":"en"},` +
		`"ratio":{"type":"number","maximum":1},` +
		`"exact":{"type":"boolean"},` +
		`"zip":{"type":"string","pattern":"^[0-9]{5}$"},` +
		`"body":{"description":"The thing","properties":{"name":{"type":"string"}},"required":["name"],"type":"object"}},` +
		`"required":["id","q","body"],"additionalProperties":false}`
	if string(got) != want {
		t.Errorf("input schema\n got %s\nwant %s", got, want)
	}
	a := tl.def.Annotations
	if a.ReadOnlyHint || !a.IdempotentHint || !*a.DestructiveHint || a.Title != "Update a thing" {
		t.Errorf("annotations of a PUT: %+v", a)
	}
}

func TestToolInput(t *testing.T) {
	tl, spec := loadTool(t)
	base := `"id":7,"q":"milk","body":{"name":"n"}`
	cases := []struct {
		name    string
		args    string
		want    map[string]any // typed params, when valid
		problem string         // a substring of the error, when not
	}{
		{"typed and defaulted", `{` + base + `}`, map[string]any{"id": 7, "q": "milk", "lang": "en"}, ""},
		{"strings are read as in a query", `{"id":"7","q":"milk","ratio":"0.5","exact":"true","body":{"name":"n"}}`,
			map[string]any{"id": 7, "q": "milk", "lang": "en", "ratio": 0.5, "exact": true}, ""},
		{"null and empty strings are absent", `{` + base + `,"lang":null,"zip":""}`, map[string]any{"id": 7, "q": "milk", "lang": "en"}, ""},
		{"a whole float is an integer", `{"id":7.0,"q":"milk","body":{"name":"n"}}`, map[string]any{"id": 7, "q": "milk", "lang": "en"}, ""},
		{"a fraction is not an integer", `{"id":2.5,"q":"milk","body":{"name":"n"}}`, nil, `path id: "2.5" is not an integer`},
		{"a boolean is not a string", `{"id":7,"q":true,"body":{"name":"n"}}`, nil, "query q: true is not a string"},
		{"an object is not a number", `{` + base + `,"ratio":{}}`, nil, "query ratio: an object is not a number"},
		{"constraints", `{"id":0,"q":"m","lang":"fr","zip":"1","body":{"name":"n"}}`, nil,
			"path id: must be at least 1; query q: must be at least 2 characters; query lang: must be one of en, de; query zip: must match"},
		{"required and unknown", `{"colour":"red","body":{"name":"n"}}`, nil,
			"path id: required; query q: required; query colour: unknown parameter"},
		{"arguments not an object", `[1]`, nil, "must be a JSON object"},
		{"body required", `{"id":7,"q":"milk"}`, nil, "body body: a JSON request body is required"},
		{"body against its schema", `{"id":7,"q":"milk","body":{"title":"x"}}`, nil, "body /name: required"},
		{"body over max_body", `{"id":7,"q":"milk","body":{"name":"` + strings.Repeat("x", 80) + `"}}`, nil, "over the limit of 64 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			params, body, err := tl.input(t.Context(), spec, json.RawMessage(c.args))
			if c.problem != "" {
				if err == nil || !strings.Contains(entries(err), c.problem) {
					t.Fatalf("error %v (%s), want one containing %q", err, entries(err), c.problem)
				}
				if st := problem.From(err).Status; st != 400 && st != 413 {
					t.Errorf("error %T answers %d, want a 400 or 413 problem", err, st)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(params, c.want) {
				t.Errorf("params %#v, want %#v", params, c.want)
			}
			if !reflect.DeepEqual(body, map[string]any{"name": "n"}) {
				t.Errorf("body %#v", body)
			}
		})
	}
}

func TestResultWrapsNonObjects(t *testing.T) {
	for _, c := range []struct {
		name, answer string
		wrap         bool
		want         string
	}{
		{"object as is", `{"a":1}`, false, `{"a":1}`},
		{"array wrapped", `[1,2]`, false, `{"result":[1,2]}`},
		{"declared scalar wrapped", `3`, true, `{"result":3}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tl := &tool{wrap: c.wrap}
			res := tl.result(outcome(c.answer), "rid")
			got, _ := json.Marshal(res.StructuredContent)
			if string(got) != c.want || res.Meta[MetaRequestID] != "rid" {
				t.Errorf("structured %s meta %v, want %s", got, res.Meta, c.want)
			}
		})
	}
}

func outcome(answer string) *server.Outcome { return &server.Outcome{JSON: []byte(answer)} }
