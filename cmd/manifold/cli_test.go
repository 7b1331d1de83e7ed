package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func execute(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := rootCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestValidateReportsEveryError(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"gateway.yaml": "upstreams:\n  api: {url: \"http://127.0.0.1:1\", retries: -1}\n",
		"a.yaml":       "name: a\npath: /a\nsteps:\n  s: {upstream: nope, path: /}\n",
		"b.yaml":       "name: b\npath: /b\nsteps:\n  s: {upstream: api, path: /, select: \".[\"}\n",
	})
	_, stderr, err := execute(t, "validate", dir)
	if !errors.Is(err, errReported) {
		t.Fatalf("validate returned %v, want a failure (exit status 1)", err)
	}
	for _, want := range []string{
		filepath.Join(dir, "a.yaml") + ":4:17: steps.s.upstream: unknown upstream \"nope\"",
		filepath.Join(dir, "b.yaml") + ":4:",
		"steps.s.select: invalid jq expression",
		filepath.Join(dir, "gateway.yaml") + ":2:",
		"upstreams.api.retries",
		"3 error(s)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, stderr)
		}
	}
}

func TestValidateDemoDirectory(t *testing.T) {
	for _, v := range []string{"PRODUCTS", "MARKETS", "DEALS", "TRANSLATION"} {
		t.Setenv("MANIFOLD_DEMO_"+v+"_URL", "http://127.0.0.1:1")
	}
	stdout, _, err := execute(t, "validate", "../../pipelines")
	if err != nil || !strings.Contains(stdout, "ok, 4 pipeline(s), 4 upstream(s)") {
		t.Errorf("validate pipelines: %v\n%s", err, stdout)
	}
}

func TestRunWithTrace(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, fmt.Sprintf(`{"city":%q,"path":%q}`, r.URL.Query().Get("city"), r.URL.Path))
	}))
	defer backend.Close()
	dir := writeDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  a: {url: %q}\n  b: {url: %q}\n", backend.URL, backend.URL),
		"p.yaml": `
name: twice
path: /twice/{city}
params: {city: {in: path, type: string}}
steps:
  one: {upstream: a, path: /one, query: {city: "${ .params.city }"}, select: .city}
  two: {upstream: b, path: /two, select: .path}
  three: {upstream: a, needs: [one, two], path: "/three/${ .one }", select: .path}
`,
	})
	stdout, stderr, err := execute(t, "run", dir, "twice", "--param", "city=Berlin", "--trace")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if want := `"three": "/three/Berlin"`; !strings.Contains(stdout, want) {
		t.Errorf("answer lacks %s:\n%s", want, stdout)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "STEP") {
		t.Fatalf("trace:\n%s", stderr)
	}
	for i, want := range []string{"one  ", "two  ", "three"} {
		f := strings.Fields(lines[i+1])
		if !strings.HasPrefix(lines[i+1], want) || f[2] != "200" || f[3] != "1" {
			t.Errorf("trace line %q: want step %s, status 200, 1 call", lines[i+1], want)
		}
	}
	if !strings.Contains(lines[3], " no ") {
		t.Errorf("step three ran after one and two, yet is marked parallel: %q", lines[3])
	}
	_, _, err = execute(t, "run", dir, "twice")
	if err == nil || !strings.Contains(err.Error(), "city: required") {
		t.Errorf("run without the path param: %v", err)
	}
}
