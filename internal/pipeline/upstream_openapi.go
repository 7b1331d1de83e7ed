package pipeline

import (
	"io/fs"
	"path"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline/typecheck"
)

// loadUpstreamDocs reads the OpenAPI document each upstream names
// (upstreams.NAME.openapi), relative to the pipeline directory. A missing
// or invalid document is a load error at its key.
func (l *loader) loadUpstreamDocs(gw *gateway.Config) map[string]*typecheck.Doc {
	if gw == nil {
		return nil
	}
	docs := map[string]*typecheck.Doc{}
	for _, name := range sortedKeys(gw.Upstreams) {
		u := gw.Upstreams[name]
		if u.OpenAPI == "" {
			continue
		}
		file, at := gw.At("upstreams", name, "openapi")
		key := "upstreams." + name + ".openapi"
		switch {
		case u.Kind == "graphql":
			l.Errorf(file, at, key, "a graphql upstream has no OpenAPI document")
			continue
		case !fs.ValidPath(path.Clean(u.OpenAPI)):
			l.Errorf(file, at, key, "%q: want a relative path inside the pipeline directory", u.OpenAPI)
			continue
		}
		d, err := typecheck.Load(l.FS, u.OpenAPI)
		if err != nil {
			l.Errorf(file, at, key, "%s: %v", u.OpenAPI, err)
			continue
		}
		docs[name] = d
	}
	return docs
}
