package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitValidateTest: `manifold init` makes a directory that `manifold
// validate` and `manifold test` pass at once, and refuses a non-empty one.
func TestInitValidateTest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "api")
	if _, stderr, err := execute(t, "init", dir); err != nil {
		t.Fatalf("init: %v %s", err, stderr)
	}
	for _, f := range []string{"gateway.yaml", "forecast.yaml", "forecast.test.yaml", "pipeline.schema.json", "gateway.schema.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("init did not write %s: %v", f, err)
		}
	}
	out, stderr, err := execute(t, "validate", dir)
	if err != nil || !strings.Contains(out, "ok, 1 pipeline(s), 1 upstream(s)") {
		t.Fatalf("validate: %v\n%s%s", err, out, stderr)
	}
	out, stderr, err = execute(t, "test", dir)
	if err != nil || !strings.HasSuffix(out, "2 passed, 0 failed\n") {
		t.Fatalf("test: %v\n%s%s", err, out, stderr)
	}
	if _, _, err := execute(t, "init", dir); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("init of a non-empty directory: %v, want a refusal", err)
	}
}

// TestTestCommandFails: a failing test makes `manifold test` exit 1 and
// write the JUnit file; a filter matching nothing is an error.
func TestTestCommandFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "api")
	if _, _, err := execute(t, "init", dir); err != nil {
		t.Fatal(err)
	}
	test := filepath.Join(dir, "forecast.test.yaml")
	data, _ := os.ReadFile(test)
	if err := os.WriteFile(test, []byte(strings.Replace(string(data), "high_c: 24}\n", "high_c: 25}\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(t.TempDir(), "junit.xml")
	out, _, err := execute(t, "test", dir, "--junit", junit, "--run", "Berlin", "-v")
	if !errors.Is(err, errReported) {
		t.Fatalf("test: %v, want a failure", err)
	}
	for _, want := range []string{"FAIL forecast for Berlin (" + test + ":12)", `-   "high_c": 25,`, `+   "high_c": 24,`,
		"weather GET /forecast?city=Berlin (step today) -> 200", "0 passed, 1 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if x, err := os.ReadFile(junit); err != nil || !strings.Contains(string(x), `failures="1"`) {
		t.Errorf("JUnit file: %v\n%s", err, x)
	}
	if _, _, err := execute(t, "test", dir, "--run", "nothing"); err == nil {
		t.Error("a filter matching no test passed")
	}
}

// TestSchemaCommand prints each schema, and refuses another kind.
func TestSchemaCommand(t *testing.T) {
	for _, kind := range []string{"pipeline", "gateway"} {
		out, _, err := execute(t, "schema", kind)
		if err != nil || !strings.Contains(out, `"$schema": "https://json-schema.org/draft/2020-12/schema"`) {
			t.Errorf("schema %s: %v\n%.200s", kind, err, out)
		}
	}
	if _, _, err := execute(t, "schema", "nope"); err == nil {
		t.Error("schema nope: no error")
	}
}
