package openapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/manifoldgw/manifold/internal/server"
)

// TestPluginHTMLLegalSandboxed: an HTML legal page is served as HTML
// under a policy that runs no script; / lists the documents.
func TestPluginHTMLLegalSandboxed(t *testing.T) {
	plan := planOf(t, map[string]string{
		"gateway.yaml": "server: {public_url: https://deals.example}\nupstreams:\n  api: {url: \"http://127.0.0.1:1\"}\nplugin: {legal: legal.html}\n",
		"legal.html":   "<h1>Terms</h1>",
		"health.yaml":  publicPipeline,
	})
	mux := http.NewServeMux()
	if err := New(Options{}).Mount(mux, nil, &server.Runtime{Plan: plan}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/legal", nil))
	h := rec.Header()
	if rec.Code != http.StatusOK || h.Get("Content-Type") != "text/html; charset=utf-8" || rec.Body.String() != "<h1>Terms</h1>" ||
		h.Get("Content-Security-Policy") != "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox" {
		t.Errorf("GET /legal: %d %v %q", rec.Code, h, rec.Body)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	want := "{\n  \"name\": \"Manifold gateway\",\n  \"openapi\": \"https://deals.example/openapi.json\",\n  \"manifest\": \"https://deals.example/.well-known/ai-plugin.json\"\n}"
	if rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Errorf("GET /: %d %s", rec.Code, rec.Body)
	}
	for _, f := range generate(t, plan).Findings {
		if f.Key == "plugin.legal_info_url" {
			t.Errorf("legal page set, yet: %s", f)
		}
	}
}
