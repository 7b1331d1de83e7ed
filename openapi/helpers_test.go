package openapi

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/pipelines"
)

// demoEnv points the demo's upstreams at fixed addresses, so that nothing
// generated depends on the ports the demo backends happen to get.
var demoEnv = map[string]string{
	"MANIFOLD_DEMO_PRODUCTS_URL":    "http://127.0.0.1:7101",
	"MANIFOLD_DEMO_MARKETS_URL":     "http://127.0.0.1:7102",
	"MANIFOLD_DEMO_DEALS_URL":       "http://127.0.0.1:7103",
	"MANIFOLD_DEMO_TRANSLATION_URL": "http://127.0.0.1:7104",
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

// demoPlan loads the embedded demo directory.
func demoPlan(t testing.TB) *pipeline.Plan {
	t.Helper()
	plan, err := pipeline.Load(pipelines.FS, "pipelines", pipeline.LoadOptions{LookupEnv: lookup(demoEnv)})
	if err != nil {
		t.Fatalf("load the demo: %v", err)
	}
	return plan
}

// planOf loads a pipeline directory made of files (gateway.yaml
// defaults to one upstream "api").
func planOf(t testing.TB, files map[string]string) *pipeline.Plan {
	t.Helper()
	fsys := fstest.MapFS{}
	if _, ok := files["gateway.yaml"]; !ok {
		fsys["gateway.yaml"] = &fstest.MapFile{Data: []byte("upstreams:\n  api: {url: \"http://127.0.0.1:1\"}\n")}
	}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(strings.TrimLeft(content, "\n"))}
	}
	plan, err := pipeline.Load(fsys, "dir", pipeline.LoadOptions{LookupEnv: lookup(nil)})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return plan
}

// generate builds the document of plan, failing the test on error.
func generate(t testing.TB, plan *pipeline.Plan) *Spec {
	t.Helper()
	sp, err := Build(plan)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return sp
}
