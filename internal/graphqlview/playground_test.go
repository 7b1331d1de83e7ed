package graphqlview

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestPlayground: a browser gets GraphiQL, whose scripts and styles the
// gateway serves itself, matching the page's integrity hashes (or the
// browser would refuse them).
func TestPlayground(t *testing.T) {
	g := startGateway(t, nil)
	const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	page := g.get(t, "query=%7B%20pipelines%20%7B%20name%20%7D%20%7D", map[string]string{"Accept": browser})
	if page.status != 200 || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") || !strings.Contains(string(page.body), "GraphiQL") {
		t.Fatalf("browser GET: %d %s", page.status, page.header.Get("Content-Type"))
	}
	if r := g.get(t, "query=%7B__typename%7D", map[string]string{"Accept": "*/*"}); r.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("curl-like GET got %s, want JSON", r.header.Get("Content-Type"))
	}
	refs := regexp.MustCompile(`(?:src|href)="(/graphql/assets/[^"]+)"\s+integrity="([^"]+)"`).FindAllStringSubmatch(string(page.body), -1)
	if len(refs) != 4 {
		t.Fatalf("found %d asset references with integrity, want 4:\n%s", len(refs), page.body)
	}
	for _, ref := range refs {
		t.Run(ref[1], func(t *testing.T) {
			for _, enc := range []string{"", "gzip"} {
				req, _ := http.NewRequest(http.MethodGet, g.url+ref[1], nil)
				req.Header.Set("Accept-Encoding", enc) // set explicitly: the client then leaves the body as sent
				r := do(t, req)
				body := r.body
				if enc == "gzip" {
					if r.header.Get("Content-Encoding") != "gzip" {
						t.Fatalf("gzip asked, got Content-Encoding %q", r.header.Get("Content-Encoding"))
					}
					zr, err := gzip.NewReader(bytes.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					if body, err = io.ReadAll(zr); err != nil {
						t.Fatal(err)
					}
				}
				sum := sha256.Sum256(body)
				want := html.UnescapeString(ref[2])
				if got := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); r.status != 200 || got != want {
					t.Errorf("%q: %d, hash %s, want %s", enc, r.status, got, want)
				}
			}
		})
	}
	if r := g.get(t, "", nil); r.status != 400 {
		t.Errorf("non-browser GET without a query: %d, want 400", r.status)
	}
	req, _ := http.NewRequest(http.MethodGet, g.url+"/graphql/assets/graphiql-4.1.2/nope.js", nil)
	if r := do(t, req); r.status != 404 {
		t.Errorf("unknown asset: %d, want 404", r.status)
	}
}
