package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/manifoldgw/manifold/internal/pipeline/typecheck"
)

// GatewayFile is the name of the gateway configuration in a directory.
const GatewayFile = "gateway.yaml"

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
	l := &loader{fsys: fsys, dir: dir, env: opts.LookupEnv, listen: opts.Listen}
	plan := l.load()
	if len(l.errs) > 0 {
		l.errs.sort()
		return nil, l.errs
	}
	return plan, nil
}

// loader collects every error of one Load.
type loader struct {
	fsys   fs.FS
	dir    string
	env    func(string) (string, bool)
	listen string
	errs   Errors
	// warns are findings that do not stop the load (Plan.Warnings).
	warns Errors
	// docs are the upstreams' OpenAPI documents, by upstream name.
	docs map[string]*typecheck.Doc
}

// doc is one parsed YAML file.
type doc struct {
	file   string // display name: dir joined with the file name
	body   ast.Node
	source []byte
}

func (l *loader) load() *Plan {
	names, err := fs.Glob(l.fsys, "*.y*ml")
	if err != nil {
		l.errorf(l.dir, nil, "", "cannot list files: %v", err)
		return nil
	}
	sort.Strings(names)
	gw := l.loadGateway()
	l.docs = l.loadUpstreamDocs(gw)
	var pipelines []*Pipeline
	for _, name := range names {
		if name == GatewayFile || IsTestFile(name) || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		d := l.parse(name)
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
	if gw == nil || len(l.errs) > 0 {
		return nil
	}
	l.warns.sort()
	plan.Warnings = l.warns
	return plan
}

func (l *loader) display(name string) string {
	if l.dir == "" {
		return name
	}
	return filepath.Join(l.dir, filepath.FromSlash(name))
}

// errorf records an error located at node n (the file alone if n is nil).
func (l *loader) errorf(file string, n ast.Node, key, format string, args ...any) {
	e := &Error{File: file, Key: key, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		if tok := n.GetToken(); tok != nil && tok.Position != nil {
			e.Line, e.Column = tok.Position.Line, tok.Position.Column
		}
	}
	l.errs = append(l.errs, e)
}

// parse reads and parses one file; on failure it records the error.
func (l *loader) parse(name string) *doc {
	file := l.display(name)
	data, err := fs.ReadFile(l.fsys, name)
	if err != nil {
		l.errorf(file, nil, "", "cannot read: %v", err)
		return nil
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) {
			l.errs = append(l.errs, located(file, ye.GetToken(), "invalid YAML: "+ye.GetMessage()))
		} else {
			l.errorf(file, nil, "", "invalid YAML: %v", err)
		}
		return nil
	}
	d := &doc{file: file, source: data}
	if len(f.Docs) > 1 {
		e := located(file, f.Docs[1].Start, fmt.Sprintf("one YAML document per file, found %d: remove the --- separators", len(f.Docs)))
		if f.Docs[1].Start == nil {
			e = located(file, f.Docs[1].Body.GetToken(), e.Msg)
		}
		l.errs = append(l.errs, e)
		return nil
	}
	if len(f.Docs) == 1 {
		d.body = f.Docs[0].Body
	}
	if d.body == nil {
		l.errorf(file, nil, "", "file is empty: write a pipeline in it or remove it")
		return nil
	}
	if _, ok := unwrap(d.body).(*ast.MappingNode); !ok && entries(d.body) == nil {
		l.errorf(file, d.body, "", "want a mapping of keys at the top level, got %s", describe(d.body))
		return nil
	}
	return d
}

// decode checks the keys of d against v's type, then decodes it. It
// reports false if anything was wrong.
func (l *loader) decode(d *doc, v any) bool {
	before := len(l.errs)
	checkKeys(d.body, reflect.TypeOf(v), "", func(at ast.Node, key, msg string) {
		l.errorf(d.file, at, key, "%s", msg)
	})
	if len(l.errs) > before {
		return false
	}
	if err := yaml.NodeToValue(d.body, v); err != nil {
		before := len(l.errs)
		l.decodeError(d.file, err)
		if e := l.errs[before]; e.Key == "" && e.Line > 0 {
			e.Key = keyAt(d.body, e.Line, e.Column)
		}
		return false
	}
	return true
}

// keyAt returns the key path of the value at line:column, or "".
func keyAt(root ast.Node, line, column int) string {
	key := ""
	walkValues(root, "", func(n ast.Node, path string) {
		if tok := n.GetToken(); tok != nil && tok.Position != nil && tok.Position.Line == line && tok.Position.Column == column {
			key = path
		}
	})
	return key
}

// decodeError turns a goccy/go-yaml error or a nodeError into a located
// Error.
func (l *loader) decodeError(file string, err error) {
	var ne *nodeError
	if errors.As(err, &ne) {
		l.errs = append(l.errs, located(file, ne.tok, ne.msg))
		return
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		l.errs = append(l.errs, located(file, ye.GetToken(), ye.GetMessage()))
		return
	}
	l.errorf(file, nil, "", "%v", err)
}

// checkUnique rejects two pipelines with one name or one route.
func (l *loader) checkUnique(ps []*Pipeline) {
	names := map[string]*Pipeline{}
	routes := map[string]*Pipeline{}
	for _, p := range ps {
		if q, dup := names[p.Name]; dup {
			_, at := lookup(p.node, "name")
			l.errorf(p.File, at, "name", "pipeline %q is already defined in %s", p.Name, q.File)
		} else {
			names[p.Name] = p
		}
		route := p.Method + " " + routeShape(p.Path)
		if q, dup := routes[route]; dup {
			_, at := lookup(p.node, "path")
			l.errorf(p.File, at, "path", "%s %s is already served by pipeline %q (%s)", p.Method, p.Path, q.Name, q.File)
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
