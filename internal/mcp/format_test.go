package mcpserver

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestInputSchemaKeepsFormat: a parameter's format (as `manifold import
// openapi` carries it over) is in the tool's input schema, so that an
// assistant sends a date as a date.
func TestInputSchemaKeepsFormat(t *testing.T) {
	fsys := fstest.MapFS{
		"gateway.yaml": {Data: []byte(testGateway)},
		"day.yaml": {Data: []byte(`name: day
path: /days/{day}
params:
  day: {in: path, type: string, format: date}
  since: {in: query, type: string, format: date-time}
steps:
  s: {upstream: things, path: /days}
`)},
	}
	plan, err := pipeline.Load(fsys, "test", pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := newTool(plan.Pipeline("day"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(tl.def.InputSchema)
	for _, want := range []string{`"day":{"type":"string","format":"date"}`, `"since":{"type":"string","format":"date-time"}`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("input schema %s lacks %s", got, want)
		}
	}
}

// TestArrayItemsKeepFormat: an array parameter's items take a format
// too; given on the array itself, it is a load error that says where.
func TestArrayItemsKeepFormat(t *testing.T) {
	load := func(param string) (*pipeline.Plan, error) {
		return pipeline.Load(fstest.MapFS{
			"gateway.yaml": {Data: []byte(testGateway)},
			"days.yaml":    {Data: []byte("name: days\npath: /days\nparams:\n  days: " + param + "\nsteps:\n  s: {upstream: things, path: /days}\n")},
		}, "test", pipeline.LoadOptions{})
	}
	plan, err := load("{in: query, type: array, items: {type: string, format: date}}")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := newTool(plan.Pipeline("days"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(tl.def.InputSchema); !strings.Contains(string(got), `"items":{"type":"string","format":"date"}`) {
		t.Errorf("input schema %s: the items have no format", got)
	}
	if _, err := load("{in: query, type: array, format: date}"); err == nil || !strings.Contains(err.Error(), "params.days.format: format applies to each element of an array: write it under items") {
		t.Errorf("format on the array: %v", err)
	}
}
