package docs

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipetest"
)

// TestExampleTestFiles runs the *.test.yaml files of the examples as
// `manifold test` does: every test the docs show passes.
func TestExampleTestFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("examples", "*", "*.test.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example test files: %v", err)
	}
	dirs := map[string]bool{}
	for _, f := range files {
		dirs[filepath.Dir(f)] = true
	}
	for dir := range dirs {
		var out bytes.Buffer
		rep, err := pipetest.Run(pipetest.Options{Dir: dir, Out: &out})
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if rep.Failed() > 0 || rep.Passed() == 0 {
			t.Errorf("%s: passed %d, failed %d:\n%s", dir, rep.Passed(), rep.Failed(), out.String())
		}
	}
}
