package openapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/manifoldgw/manifold/internal/server"
)

// Paths the surface serves.
const (
	PathJSON     = "/openapi.json"
	PathYAML     = "/openapi.yaml"
	PathManifest = "/.well-known/ai-plugin.json"
)

// CacheControl lets clients and proxies keep the documents briefly; the
// ETag makes revalidation cheap, and a reload changes it.
const CacheControl = "public, max-age=60"

// Mount serves the documents of rt's plan (server.Surface). They are
// generated here, once per Runtime, not per request.
func (s *Specs) Mount(mux *http.ServeMux, _ *server.Server, rt *server.Runtime) error {
	sp, err := s.For(rt.Plan)
	if err != nil {
		return err
	}
	mux.Handle("GET "+PathJSON, document(sp.JSON, sp.etags[FormatJSON], "application/json"))
	mux.Handle("GET "+PathYAML, document(sp.YAML, sp.etags[FormatYAML], "application/yaml"))
	mux.Handle("GET "+PathManifest, document(sp.Manifest, sp.etags["manifest"], "application/json"))
	mountRoot(mux, sp)
	// plugin.logo and plugin.legal, read when the plan was loaded.
	for _, a := range rt.Plan.Gateway.Assets() {
		h := document(a.Body, etag(a.Body), a.ContentType)
		if strings.HasPrefix(a.ContentType, "text/html") {
			h = sandboxed(h)
		}
		mux.Handle("GET "+a.Path, h)
	}
	return nil
}

// sandboxed serves an operator's HTML page under a policy that runs no
// script and loads nothing but the page's own images and inline styles:
// the page shares the gateway's origin.
func sandboxed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox")
		next.ServeHTTP(w, r)
	})
}

// document serves a fixed body with its ETag, answering 304 to a request
// that already holds it (RFC 9110, section 13.1.2).
func document(body []byte, tag, contentType string) http.Handler {
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("ETag", tag)
		h.Set("Cache-Control", CacheControl)
		// The documents are public; browsers' API explorers fetch them
		// from other origins.
		h.Set("Access-Control-Allow-Origin", "*")
		if matches(r.Header.Get("If-None-Match"), tag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", contentType)
		h.Set("Content-Length", length)
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(body)
	})
}

// matches reports whether an If-None-Match list names tag (weak
// comparison, as RFC 9110 asks for If-None-Match) or is "*".
func matches(header, tag string) bool {
	if header == "" {
		return false
	}
	for c := range strings.SplitSeq(header, ",") {
		c = strings.TrimSpace(c)
		if c == "*" || strings.TrimPrefix(c, "W/") == tag {
			return true
		}
	}
	return false
}

// PathRoot is the servers URL itself: GET / answers an index of the
// documents, so that a client checking the URLs the documents name finds
// every one of them (a pipeline at / takes precedence).
const PathRoot = "/{$}"

// rootIndex is the body of GET /.
type rootIndex struct {
	Name     string `json:"name"`
	OpenAPI  string `json:"openapi"`
	Manifest string `json:"manifest"`
}

// mountRoot serves the index at / unless a pipeline is there.
func mountRoot(mux *http.ServeMux, sp *Spec) {
	for _, p := range sp.Plan.Pipelines {
		if p.Path == "/" {
			return
		}
	}
	base := sp.Plan.Gateway.Server.PublicURL
	body, _ := json.MarshalIndent(rootIndex{ // only strings: cannot fail
		Name:     sp.Doc.Info.Title,
		OpenAPI:  base + PathJSON,
		Manifest: base + PathManifest,
	}, "", "  ")
	mux.Handle("GET "+PathRoot, document(body, etag(body), "application/json"))
}
