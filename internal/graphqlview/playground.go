package graphqlview

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql/playground"
)

// assets are GraphiQL and React, served by the gateway itself so that the
// playground works without reaching a CDN. The files are byte for byte
// those gqlgen's playground loads from jsdelivr (the SRI hashes below are
// gqlgen's), with their licenses.
//
//go:embed assets
var assets embed.FS

const assetsPath = Path + "/assets/"

// The embedded files and their subresource integrity hashes.
const (
	graphiqlJS     = assetsPath + "graphiql-4.1.2/graphiql.min.js"
	graphiqlJSSRI  = "sha256-hnImuor1znlJkD/FOTL3jayfS/xsyNoP04abi8bFJWs="
	graphiqlCSS    = assetsPath + "graphiql-4.1.2/graphiql.min.css"
	graphiqlCSSSRI = "sha256-MEh+B2NdMSpj9kexQNN3QKc8UzMrCXW/Sx/phcpuyIU="
	reactJS        = assetsPath + "react-18.2.0/react.production.min.js"
	reactJSSRI     = "sha256-S0lp+k7zWUMk2ixteM6HZvu8L9Eh//OVrt+ZfbCpmgY="
	reactDOMJS     = assetsPath + "react-18.2.0/react-dom.production.min.js"
	reactDOMJSSRI  = "sha256-IXWO0ITNDjfnNXIu5POVfqlgYoop36bDzhodR6LW5Pc="
)

// playgroundPage is gqlgen's GraphiQL page on the embedded assets. The
// query, variables and headers live in the URL, so that a link to
// /graphql?query=... opens GraphiQL with that query.
func playgroundPage() http.Handler {
	page := playground.Handler("Manifold GraphQL", Path,
		playground.WithGraphiqlVersion(graphiqlJS, graphiqlCSS, graphiqlJSSRI, graphiqlCSSSRI),
		playground.WithGraphiqlReactVersion(reactJS, reactDOMJS, reactJSSRI, reactDOMJSSRI),
		playground.WithGraphiqlPersistStateInURL(true),
		playground.WithStoragePrefix("manifold:"),
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Vary", "Accept")
		page.ServeHTTP(w, r)
	})
}

// assetStore serves the embedded files, each read and compressed once.
type assetStore struct {
	mu    sync.Mutex
	cache map[string]*asset
}

// handler serves the embedded files, gzipped for clients that take it;
// their paths name their versions, so they are cached for a year.
func (s *assetStore) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Join("assets", r.PathValue("dir"), r.PathValue("file"))
		a, ok := s.load(name)
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Vary", "Accept-Encoding")
		body := a.plain
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.Set("Content-Encoding", "gzip")
			body = a.gzipped
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
}

type asset struct {
	contentType    string
	plain, gzipped []byte
}

// load reads and compresses an embedded file once.
func (s *assetStore) load(name string) (*asset, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.cache[name]; ok {
		return a, true
	}
	plain, err := fs.ReadFile(assets, name)
	if err != nil {
		return nil, false
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(plain)
	_ = zw.Close()
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "text/plain; charset=utf-8" // the licenses
	}
	a := &asset{contentType: ct, plain: plain, gzipped: buf.Bytes()}
	if s.cache == nil {
		s.cache = map[string]*asset{}
	}
	s.cache[name] = a
	return a, true
}
