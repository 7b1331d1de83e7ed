package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./openapi -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed; if that is intended, run go test ./openapi -update and review the diff.\ngot:\n%s", path, got)
	}
}

// TestGoldenDemo pins the demo's generated document and manifest: any
// change to what assistants read shows up as a diff in review.
func TestGoldenDemo(t *testing.T) {
	sp := generate(t, demoPlan(t))
	golden(t, "demo.openapi.yaml", sp.YAML)
	golden(t, "demo.ai-plugin.json", sp.Manifest)
}

// TestDeterministic: the same plan gives the same bytes, however often
// and from however freshly loaded a plan.
func TestDeterministic(t *testing.T) {
	first := generate(t, demoPlan(t))
	for range 5 {
		again := generate(t, demoPlan(t))
		if !bytes.Equal(first.YAML, again.YAML) || !bytes.Equal(first.JSON, again.JSON) || !bytes.Equal(first.Manifest, again.Manifest) {
			t.Fatal("two generations of the demo differ")
		}
		if first.etags[FormatJSON] != again.etags[FormatJSON] {
			t.Fatal("the ETag changed with the same content")
		}
	}
}

// TestJSONAndYAMLAgree: both formats load in kin-openapi as a valid
// OpenAPI 3.1 document, and describe the same thing.
func TestJSONAndYAMLAgree(t *testing.T) {
	sp := generate(t, demoPlan(t))
	var docs []*openapi3.T
	for _, data := range [][]byte{sp.JSON, sp.YAML} {
		doc, err := openapi3.NewLoader().LoadFromData(data)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatalf("validate: %v", err)
		}
		if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
			t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
		}
		docs = append(docs, doc)
	}
	a, _ := json.Marshal(docs[0])
	b, _ := json.Marshal(docs[1])
	if !bytes.Equal(a, b) {
		t.Errorf("the JSON and YAML documents differ:\n%s\n%s", a, b)
	}
}
