package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestManifestURLsAnswer: every URL the running demo's plugin manifest
// and OpenAPI document name (servers, termsOfService, logo, legal, the
// document itself) answers 200, on the port actually served.
func TestManifestURLsAnswer(t *testing.T) {
	base := startDemo(t)
	var m struct {
		API          struct{ URL string } `json:"api"`
		LogoURL      string               `json:"logo_url"`
		LegalInfoURL string               `json:"legal_info_url"`
	}
	decodeGet(t, base+"/.well-known/ai-plugin.json", &m)
	var doc struct {
		Info struct {
			TermsOfService string               `json:"termsOfService"`
			Logo           struct{ URL string } `json:"x-logo"`
		} `json:"info"`
		Servers []struct{ URL string } `json:"servers"`
	}
	decodeGet(t, base+"/openapi.json", &doc)
	if len(doc.Servers) != 1 || doc.Servers[0].URL != base {
		t.Fatalf("servers = %+v, want %s", doc.Servers, base)
	}
	wantTypes := map[string]string{
		m.API.URL: "application/yaml", m.LogoURL: "image/png", m.LegalInfoURL: "text/plain; charset=utf-8",
		doc.Servers[0].URL: "application/json", doc.Info.TermsOfService: "text/plain; charset=utf-8", doc.Info.Logo.URL: "image/png",
	}
	for url, ctype := range wantTypes {
		if !strings.HasPrefix(url, base+"/") && url != base {
			t.Errorf("%q is not on the demo's origin %s", url, base)
			continue
		}
		a := get(t, url)
		if a.status != http.StatusOK || a.header.Get("Content-Type") != ctype {
			t.Errorf("GET %s: %d %s, want 200 %s", url, a.status, a.header.Get("Content-Type"), ctype)
		}
	}
}

// TestPluginFilesCached: the logo and the legal page carry an ETag and
// Cache-Control like the documents, and a revalidation gets 304.
func TestPluginFilesCached(t *testing.T) {
	base := startDemo(t)
	for _, path := range []string{"/.well-known/logo.png", "/legal"} {
		a := get(t, base+path)
		tag := a.header.Get("ETag")
		if a.status != http.StatusOK || tag == "" || a.header.Get("Cache-Control") != "public, max-age=60" || len(a.body) == 0 {
			t.Fatalf("GET %s: %d, ETag %q, Cache-Control %q", path, a.status, tag, a.header.Get("Cache-Control"))
		}
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("If-None-Match", tag)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag: %d, want 304", path, resp.StatusCode)
		}
	}
}

// decodeGet fetches url and decodes its JSON body into v.
func decodeGet(t *testing.T, url string, v any) {
	t.Helper()
	a := get(t, url)
	if a.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, a.status, a.body)
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
