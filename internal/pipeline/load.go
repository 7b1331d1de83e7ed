package pipeline

import (
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline/typecheck"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// IsTestFile reports whether name is a pipeline test file (*.test.yaml or
// *.test.yml, read by `manifold test`), which the loader skips: it sits
// beside the pipelines but is not one.
func IsTestFile(name string) bool {
	return strings.HasSuffix(name, ".test.yaml") || strings.HasSuffix(name, ".test.yml")
}

// LoadOptions tune Load.
type LoadOptions struct {
	// LookupEnv resolves ${NAME} references in gateway.yaml. Nil means
	// os.LookupEnv.
	LookupEnv func(name string) (string, bool)
	// Listen, if set, overrides server.listen (the --listen flag); a
	// public_url left out of gateway.yaml is then derived from it.
	Listen string
}

// LoadDir loads, validates and compiles the directory dir.
func LoadDir(dir string, opts LoadOptions) (*Plan, error) {
	return Load(os.DirFS(dir), dir, opts)
}

// Load reads gateway.yaml and every other *.yaml or *.yml file at the root
// of fsys (but test files, see IsTestFile), validates all of it and compiles it into a Plan. Errors name
// files relative to dir. On failure it returns Errors holding every problem
// found, not just the first.
func Load(fsys fs.FS, dir string, opts LoadOptions) (*Plan, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	l := &loader{Reader: &yamlconf.Reader{FS: fsys, Dir: dir}, env: opts.LookupEnv, listen: opts.Listen}
	plan := l.load()
	if len(l.Errs) > 0 {
		l.Errs.Sort()
		return nil, l.Errs
	}
	return plan, nil
}

// loader collects every error of one Load.
type loader struct {
	*yamlconf.Reader
	env    func(string) (string, bool)
	listen string
	// warns are findings that do not stop the load (Plan.Warnings).
	warns yamlconf.Errors
	// docs are the upstreams' OpenAPI documents, by upstream name.
	docs map[string]*typecheck.Doc
}

func (l *loader) load() *Plan {
	names, err := fs.Glob(l.FS, "*.y*ml")
	if err != nil {
		l.Errorf(l.Dir, nil, "", "cannot list files: %v", err)
		return nil
	}
	sort.Strings(names)
	gw := gateway.Load(l.Reader, gateway.Options{LookupEnv: l.env, Listen: l.listen})
	l.docs = l.loadUpstreamDocs(gw)
	var pipelines []*Pipeline
	for _, name := range names {
		if name == gateway.File || IsTestFile(name) || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		d := l.Parse(name)
		if d == nil {
			continue
		}
		if p := l.loadPipeline(d, gw); p != nil {
			pipelines = append(pipelines, p)
		}
	}
	l.checkUnique(pipelines)
	// Expressions are compiled even when other files are broken, so that
	// one run reports every error of the directory.
	plan := l.compile(gw, pipelines)
	if gw == nil || len(l.Errs) > 0 {
		return nil
	}
	l.warns.Sort()
	plan.Warnings = l.warns
	return plan
}

// checkUnique rejects two pipelines with one name or one route.
func (l *loader) checkUnique(ps []*Pipeline) {
	names := map[string]*Pipeline{}
	routes := map[string]*Pipeline{}
	for _, p := range ps {
		if q, dup := names[p.Name]; dup {
			_, at := yamlconf.Lookup(p.node, "name")
			l.Errorf(p.File, at, "name", "pipeline %q is already defined in %s", p.Name, q.File)
		} else {
			names[p.Name] = p
		}
		route := p.Method + " " + routeShape(p.Path)
		if q, dup := routes[route]; dup {
			_, at := yamlconf.Lookup(p.node, "path")
			l.Errorf(p.File, at, "path", "%s %s is already served by pipeline %q (%s)", p.Method, p.Path, q.Name, q.File)
		} else {
			routes[route] = p
		}
	}
}

// routeShape replaces path parameter names, so that /a/{x} and /a/{y}
// count as one route.
func routeShape(p string) string {
	segs := strings.Split(path.Clean(p), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}
