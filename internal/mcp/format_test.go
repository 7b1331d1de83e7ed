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
