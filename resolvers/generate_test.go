package resolvers

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGeneratedIsCurrent regenerates the gqlgen code from schema/ and
// gqlgen.yml in a copy of the module and fails when the committed files
// differ: edit the schema, run `go run github.com/99designs/gqlgen
// generate`, commit both.
func TestGeneratedIsCurrent(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run gqlgen: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	if err := copyModule(root, tmp); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "run", "github.com/99designs/gqlgen", "generate")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gqlgen generate: %v\n%s", err, out)
	}
	generated, _ := filepath.Glob(filepath.Join(root, "resolvers", "*.go"))
	for _, path := range generated {
		name := filepath.Base(path)
		if !isGenerated(name) {
			continue
		}
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join(tmp, "resolvers", name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("resolvers/%s differs from what gqlgen generates: run `go run github.com/99designs/gqlgen generate` and commit the result", name)
		}
	}
}

// isGenerated names the files gqlgen writes (resolver files keep their
// implementations, but their layout is gqlgen's).
func isGenerated(name string) bool {
	return name == "generated.go" || name == "models_gen.go" || strings.HasSuffix(name, ".resolvers.go")
}

// copyModule copies the module's source files (not .git, tests' output or
// other trees gqlgen does not load) into dst.
func copyModule(src, dst string) error {
	skip := map[string]bool{".git": true, "test": true, "deploy": true, "data": true, "node_modules": true}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if skip[d.Name()] && rel != "." {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
}
