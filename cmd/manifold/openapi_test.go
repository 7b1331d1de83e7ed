package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

const onePipeline = "name: ping\nsummary: Ping the backend\npath: /ping\nsteps:\n  s: {upstream: api, path: /}\nresponse: {schema: {type: object}}\n"

func TestOpenAPICommand(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"gateway.yaml": "upstreams:\n  api: {url: \"http://127.0.0.1:1\"}\n",
		"ping.yaml":    onePipeline,
	})
	yaml, _, err := execute(t, "openapi", dir)
	if err != nil || !strings.HasPrefix(yaml, "openapi: 3.1.0\n") || !strings.Contains(yaml, "operationId: ping") {
		t.Errorf("openapi DIR: %v\n%s", err, yaml)
	}
	js, _, err := execute(t, "openapi", dir, "--format", "json")
	var doc map[string]any
	if err != nil || json.Unmarshal([]byte(js), &doc) != nil || doc["openapi"] != "3.1.0" {
		t.Errorf("openapi DIR --format json: %v\n%s", err, js)
	}
	if _, _, err := execute(t, "openapi", dir, "--format", "xml"); err == nil || !strings.Contains(err.Error(), "want yaml or json") {
		t.Errorf("--format xml: %v", err)
	}
}

func TestValidatePrintsLintWarnings(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"gateway.yaml": "upstreams:\n  api: {url: \"http://127.0.0.1:1\"}\n",
		"ping.yaml":    "name: ping\nsummary: Ping the backend\npath: /ping\nsteps:\n  s: {upstream: api, path: /}\n",
	})
	stdout, stderr, err := execute(t, "validate", dir)
	if err != nil || !strings.Contains(stdout, "ok, 1 pipeline(s)") {
		t.Fatalf("validate: %v\n%s%s", err, stdout, stderr)
	}
	for _, want := range []string{
		"warning: " + filepath.Join(dir, "gateway.yaml") + `: server.public_url: "http://localhost:9080" is not https`,
		"warning: " + filepath.Join(dir, "ping.yaml") + ": ping: response.schema: the 200 answer has no schema",
		"warning: " + filepath.Join(dir, "gateway.yaml") + ": plugin.logo_url: the plugin manifest is incomplete: it has no logo_url",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, stderr)
		}
	}
}

func TestValidateManifestLimits(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"gateway.yaml": "upstreams:\n  api: {url: \"http://127.0.0.1:1\"}\nplugin:\n  name_for_human: A name far too long for it\n  name_for_model: not-allowed\n  description_for_human: " + strings.Repeat("x", 101) + "\n  contact_email: nobody\n",
		"ping.yaml":    onePipeline + "unknown_query: drop\n",
	})
	_, stderr, err := execute(t, "validate", dir)
	if !errors.Is(err, errReported) {
		t.Fatalf("validate: %v, want a failure", err)
	}
	gw := filepath.Join(dir, "gateway.yaml")
	for _, want := range []string{
		gw + ":4:19: plugin.name_for_human: 26 characters is too long: the plugin manifest allows at most 20",
		gw + `:5:19: plugin.name_for_model: "not-allowed" may hold only letters, digits and _`,
		gw + ":6:26: plugin.description_for_human: 101 characters is too long: the plugin manifest allows at most 100",
		gw + `:7:18: plugin.contact_email: "nobody" is not an email address`,
		filepath.Join(dir, "ping.yaml") + `:7:16: unknown_query: "drop": want ignore, reject or forward`,
		"5 error(s)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, stderr)
		}
	}
}

func TestImportCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "markets")
	stdout, stderr, err := execute(t, "import", "openapi", "../../test/fixtures/markets-openapi.yaml", "--upstream", "markets", "--out", out)
	if err != nil || !strings.Contains(stdout, "imported 3 operation(s) of ../../test/fixtures/markets-openapi.yaml (OpenAPI 3.0.3) as upstream markets (http://127.0.0.1:7102)") {
		t.Fatalf("import: %v\n%s%s", err, stdout, stderr)
	}
	if stdout, _, err := execute(t, "validate", out); err != nil || !strings.Contains(stdout, "ok, 3 pipeline(s), 1 upstream(s)") {
		t.Errorf("validate the import: %v\n%s", err, stdout)
	}
	if _, _, err := execute(t, "import", "openapi", "../../test/fixtures/markets-openapi.yaml", "--upstream", "markets", "--out", out); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("a second import without --force: %v", err)
	}
	if _, _, err := execute(t, "import", "openapi", "../../test/fixtures/markets-openapi.yaml", "--out", out); err == nil || !strings.Contains(err.Error(), "upstream") {
		t.Errorf("import without --upstream: %v", err)
	}
}
