package schema

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// compile compiles a generated schema with an independent validator
// (santhosh-tekuri/jsonschema, draft 2020-12), which also checks that it
// is a valid schema.
func compile(t *testing.T, name string, s Schema) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(JSON(s)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(name, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(name)
	if err != nil {
		t.Fatalf("%s does not compile: %v", name, err)
	}
	return sch
}

// yamlValue reads a YAML document as the JSON value editors validate.
func yamlValue(t *testing.T, data []byte) any {
	t.Helper()
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDemoFilesValidate: every file of the demo directory is valid
// against its schema, as the loader finds it valid.
func TestDemoFilesValidate(t *testing.T) {
	pipelineSchema := compile(t, "pipeline.schema.json", Pipeline())
	gatewaySchema := compile(t, "gateway.schema.json", Gateway())
	files, err := filepath.Glob(filepath.Join("..", "..", "pipelines", "*.yaml"))
	if err != nil || len(files) < 5 {
		t.Fatalf("demo files: %v %v", files, err)
	}
	for _, f := range files {
		if pipeline.IsTestFile(filepath.Base(f)) {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sch := pipelineSchema
		if filepath.Base(f) == gateway.File {
			sch = gatewaySchema
		}
		if err := sch.Validate(yamlValue(t, data)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestHeaderListValidates: forward_headers is a list of header names,
// in a pipeline and in a step, as the loader reads it.
func TestHeaderListValidates(t *testing.T) {
	sch := compile(t, "pipeline.schema.json", Pipeline())
	text := "name: p\nmethod: GET\npath: /p\nforward_headers: [Accept-Language, \"X-Tenant-*\"]\n" +
		"steps:\n  a: {upstream: u, path: /a, forward_headers: [\"*\", \"!X-Debug\"]}\n"
	if err := sch.Validate(yamlValue(t, []byte(text))); err != nil {
		t.Error(err)
	}
	if sch.Validate(yamlValue(t, []byte("name: p\nforward_headers: {a: b}\n"))) == nil {
		t.Error("forward_headers as an object is valid, want an error")
	}
}

// TestBrokenFilesFail: what the loader refuses, the schemas refuse too.
func TestBrokenFilesFail(t *testing.T) {
	pipelineSchema := compile(t, "pipeline.schema.json", Pipeline())
	gatewaySchema := compile(t, "gateway.schema.json", Gateway())
	base := "name: p\nmethod: GET\npath: /p\nsteps:\n  a: {upstream: u, path: /a}\n"
	tests := []struct {
		name, text, want string
		gateway          bool
	}{
		{"unknown pipeline key", base + "cahce: 30s\n", "cahce", false},
		{"unknown step key", "name: p\nsteps:\n  a: {upstream: u, neds: [b]}\n", "neds", false},
		{"bad duration", base + "timeout: soon\n", "soon", false},
		{"bad access", base + "access: everyone\n", "access", false},
		{"params not a map", base + "params: [a]\n", "params", false},
		{"unknown gateway key", "upstreams:\n  u: {url: http://u.test, retry: 2}\n", "retry", true},
		{"bad rate", "server: {rate: fast}\n", "fast", true},
		{"bad size", "server: {max_body: 1 lightyear}\n", "lightyear", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sch := pipelineSchema
			if tt.gateway {
				sch = gatewaySchema
			}
			err := sch.Validate(yamlValue(t, []byte(tt.text)))
			if err == nil {
				t.Fatalf("valid, want an error about %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not name %q:\n%v", tt.want, err)
			}
		})
	}
}

// TestSchemaShape: the custom scalars are strings with patterns, objects
// are closed, and the output is stable.
func TestSchemaShape(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(JSON(Pipeline()), &s); err != nil {
		t.Fatal(err)
	}
	if s["$schema"] != Draft || s["additionalProperties"] != false {
		t.Errorf("root: $schema %v, additionalProperties %v", s["$schema"], s["additionalProperties"])
	}
	defs := s["$defs"].(map[string]any)
	if d := defs["Duration"].(map[string]any); d["pattern"] != DurationPattern || d["type"] != "string" {
		t.Errorf("Duration: %v", d)
	}
	if !bytes.Equal(JSON(Pipeline()), JSON(Pipeline())) || !bytes.Equal(JSON(Gateway()), JSON(Gateway())) {
		t.Error("the schemas are not deterministic")
	}
}
