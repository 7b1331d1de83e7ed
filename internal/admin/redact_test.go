package admin

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// TestURLUserPartsRedacted: tokens written literally in a URL's user part
// (no password, not from the environment) are redacted in /config and
// /upstreams, whatever key holds the URL.
func TestURLUserPartsRedacted(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"gateway.yaml": `
upstreams:
  gh: {url: "https://ghp_literalGitHubToken123@api.github.example/v3"}
  basic: {url: "http://svc:literal-password@basic.example"}
audit: {nats: "nats://LiteralNatsToken@nats.example:4222"}
telemetry: {otlp_endpoint: "https://otlp-user:otlp-pass@otel.example:4318"}
`,
		"p.yaml": "name: p\npath: /p\nsteps:\n  s: {upstream: gh, path: /x}\n  t: {upstream: basic, path: /y}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := server.Build(plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	api, err := New(Options{Key: testKey, Server: server.New(rt, server.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/config", "/upstreams", "/upstreams/gh"} {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set(KeyHeader, testKey)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		body := w.Body.String()
		for _, secret := range []string{"ghp_literalGitHubToken123", "svc:", "literal-password", "LiteralNatsToken", "otlp-user", "otlp-pass"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s shows %q: %s", path, secret, body)
			}
		}
		if !strings.Contains(body, "https://redacted@api.github.example/v3") {
			t.Errorf("%s: want the GitHub URL shown as https://redacted@api.github.example/v3: %s", path, body)
		}
	}
}
