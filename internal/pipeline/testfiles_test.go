package pipeline

import (
	"testing"
	"testing/fstest"
)

// TestLoadSkipsTestFiles: *.test.yaml and *.test.yml files sit beside the
// pipelines for `manifold test`; the loader must not read them as
// pipelines, even when they would be invalid ones.
func TestLoadSkipsTestFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"gateway.yaml":    {Data: []byte("upstreams:\n  api: {url: http://api.test}\n")},
		"hello.yaml":      {Data: []byte("name: hello\nmethod: GET\npath: /hello\nsteps:\n  a: {upstream: api, path: /a}\n")},
		"hello.test.yaml": {Data: []byte("tests:\n  - name: not a pipeline\n    request: {pipeline: hello}\n")},
		"other.test.yml":  {Data: []byte("tests: []\n")},
	}
	plan, err := Load(fsys, "", LoadOptions{LookupEnv: lookupTestEnv})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(plan.Pipelines) != 1 || plan.Pipelines[0].Name != "hello" {
		t.Fatalf("pipelines = %d, want only hello", len(plan.Pipelines))
	}
	for name, want := range map[string]bool{"a.test.yaml": true, "a.test.yml": true, "a.yaml": false, "test.yaml": false, "a.testyaml": false} {
		if got := IsTestFile(name); got != want {
			t.Errorf("IsTestFile(%q) = %v, want %v", name, got, want)
		}
	}
}
