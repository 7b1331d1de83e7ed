package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/launch/launchtest"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

const keyedSpec = "../../openapi/testdata/keyed-openapi.yaml"

// TestImportAPIKeyIsTheUpstreamsCredential imports a document whose
// operations need an apiKey in the query: the key becomes the upstream's
// credential from the environment, no pipeline takes it from callers, and
// a caller's own appid never reaches the backend.
func TestImportAPIKeyIsTheUpstreamsCredential(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Query()["appid"]...)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"temp":3}`)
	}))
	defer backend.Close()
	out := filepath.Join(t.TempDir(), "weather")
	stdout, stderr, err := execute(t, "import", "openapi", keyedSpec, "--upstream", "weather", "--out", out, "--url", backend.URL)
	if err != nil || !strings.Contains(stdout, "read from $WEATHER_API_KEY") {
		t.Fatalf("import: %v\n%s%s", err, stdout, stderr)
	}
	gw, _ := os.ReadFile(filepath.Join(out, "gateway.yaml"))
	if !strings.Contains(string(gw), "type: api_key") || !strings.Contains(string(gw), "value: ${WEATHER_API_KEY}") {
		t.Errorf("gateway.yaml has no credential from the environment:\n%s", gw)
	}
	day, _ := os.ReadFile(filepath.Join(out, "weather-get-day.yaml"))
	if strings.Contains(string(day), "appid") {
		t.Errorf("the pipeline takes the key from callers:\n%s", day)
	}
	env := map[string]string{"WEATHER_API_KEY": "s3cret-key"}
	plan, err := pipeline.LoadDir(out, pipeline.LoadOptions{LookupEnv: func(n string) (string, bool) { v, ok := env[n]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := launchtest.Serve(t, plan, launch.Options{})
	res, err := http.Get(base + "/stations/9b2f3c1e-8d4a-4f7e-9c1a-2b3c4d5e6f70/days/2026-01-02?appid=caller-guess")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d %s", res.StatusCode, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "s3cret-key" {
		t.Errorf("the backend got appid %q, want the configured key alone", seen)
	}
	doc := get(t, base+"/openapi.json")
	if strings.Contains(doc, "appid") || strings.Contains(doc, "s3cret-key") {
		t.Errorf("the gateway's document names the backend's key")
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}

// TestImportUpstreamOnly writes the upstream and its document and no
// pipeline: nothing of the backend is public.
func TestImportUpstreamOnly(t *testing.T) {
	t.Setenv("WEATHER_API_KEY", "k")
	out := filepath.Join(t.TempDir(), "weather")
	stdout, stderr, err := execute(t, "import", "openapi", keyedSpec, "--upstream", "weather", "--out", out, "--upstream-only")
	if err != nil || !strings.Contains(stdout, "no pipelines") {
		t.Fatalf("import: %v\n%s%s", err, stdout, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.yaml"))
	if len(files) != 1 || filepath.Base(files[0]) != "gateway.yaml" {
		t.Errorf("files written: %v, want gateway.yaml alone", files)
	}
	gw, _ := os.ReadFile(filepath.Join(out, "gateway.yaml"))
	if !strings.Contains(string(gw), "openapi: openapi/weather.json") {
		t.Errorf("gateway.yaml has no openapi reference:\n%s", gw)
	}
	if _, err := os.Stat(filepath.Join(out, "openapi", "weather.json")); err != nil {
		t.Errorf("the document: %v", err)
	}
	if stdout, stderr, err := execute(t, "validate", out); err != nil || !strings.Contains(stdout, "ok, 0 pipeline(s), 1 upstream(s)") {
		t.Errorf("validate: %v\n%s%s", err, stdout, stderr)
	}
}

// TestImportNameListenFormat: --name names the plugin, the new
// gateway.yaml listens on loopback, formats are kept in the parameters
// and in the gateway's document.
func TestImportNameListenFormat(t *testing.T) {
	t.Setenv("WEATHER_API_KEY", "k")
	out := filepath.Join(t.TempDir(), "weather")
	if _, stderr, err := execute(t, "import", "openapi", keyedSpec, "--upstream", "weather", "--out", out, "--name", "Weather history"); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	gw, _ := os.ReadFile(filepath.Join(out, "gateway.yaml"))
	for _, want := range []string{"listen: 127.0.0.1:9080", "name_for_human: Weather history\n", "name_for_model: weather_history\n"} {
		if !strings.Contains(string(gw), want) {
			t.Errorf("gateway.yaml lacks %q:\n%s", want, gw)
		}
	}
	doc, stderr, err := execute(t, "openapi", out, "--format", "json")
	if err != nil {
		t.Fatalf("openapi: %v\n%s", err, stderr)
	}
	for _, want := range []string{`"format":"uuid"`, `"format":"date"`, `"format":"date-time"`, `"format":"int32"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("the generated document lacks %s", want)
		}
	}
	_, _, err = execute(t, "import", "openapi", keyedSpec, "--upstream", "other", "--out", out, "--name", "Else")
	if err == nil || !strings.Contains(err.Error(), "--name names the plugin of a new gateway.yaml") {
		t.Errorf("--name into an existing gateway.yaml: %v", err)
	}
	if _, _, err := execute(t, "import", "openapi", keyedSpec, "--upstream", "w2", "--out", t.TempDir(), "--name", "!!"); err == nil || !strings.Contains(err.Error(), "plugin name") {
		t.Errorf("--name without a letter: %v", err)
	}
}

// TestImportWarnsOnce: a warning every imported pipeline shares is
// printed once, naming the places.
func TestImportWarnsOnce(t *testing.T) {
	out := filepath.Join(t.TempDir(), "weather")
	_, stderr, err := execute(t, "import", "openapi", keyedSpec, "--upstream", "weather", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stderr, "answer has no schema"); n != 1 || !strings.Contains(stderr, "(2 places: weather-get-day.yaml") {
		t.Errorf("the shared warning is printed %d times:\n%s", n, stderr)
	}
}
