package mcpserver

import (
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestOutputSchemaInferred: without response.schema, a tool's outputSchema
// is the schema inferred from the upstreams' OpenAPI documents.
func TestOutputSchemaInferred(t *testing.T) {
	plan, err := pipeline.LoadDir("../../pipelines", pipeline.LoadOptions{LookupEnv: func(string) (string, bool) { return "http://127.0.0.1:1", true }})
	if err != nil {
		t.Fatal(err)
	}
	p := plan.Pipeline("placeOrder")
	p.Response = nil // as if not written
	tl, err := newTool(p)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tl.def.OutputSchema.(interface{ MarshalJSON() ([]byte, error) })
	if raw == nil {
		t.Fatalf("outputSchema is %T, want JSON", tl.def.OutputSchema)
	}
	out, _ := raw.MarshalJSON()
	for _, want := range []string{`"placed_at":{"format":"date-time","type":"string"}`, `"line_total":{"type":"number"}`, `"type":"object"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("outputSchema lacks %s: %s", want, out)
		}
	}
	if tl.wrap {
		t.Error("an object answer is not wrapped")
	}
}
