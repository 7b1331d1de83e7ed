package pipeline

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// fuzzGateway is the fixed gateway.yaml next to the fuzzed pipeline file.
const fuzzGateway = `
upstreams:
  products: {url: "http://products.test"}
  markets: {url: "http://markets.test"}
  deals: {url: "http://deals.test"}
  translation: {url: "http://translation.test"}
  catalog: {url: "http://catalog.test/graphql", kind: graphql}
`

// addFileSeeds adds every pipeline file of the demo directory and of the
// broken test directories: real snippets, valid and invalid.
func addFileSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(demoDir, "*.yaml"))
	broken, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*", "*.yaml"))
	for _, name := range append(files, broken...) {
		if filepath.Base(name) == gateway.File {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimalPipeline))
	f.Add([]byte(paramsPipeline))
	f.Add([]byte(""))
	f.Add([]byte("name: x\npath: /x\nsteps:\n  s:\n    upstream: catalog\n    query: '{ a }'\n    variables: {a: \"${ .params }\"}\n"))
	f.Add([]byte("name: x\npath: /x\nsteps:\n  a: &s {upstream: products, path: /a}\n  b: *s\n"))
}

// FuzzLoad checks that no pipeline file, however broken, makes Load panic,
// and that every error it reports is located.
func FuzzLoad(f *testing.F) {
	addFileSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{
			"gateway.yaml": {Data: []byte(fuzzGateway)},
			"p.yaml":       {Data: data},
		}
		plan, err := Load(fsys, "", LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
		if err == nil {
			if plan == nil || len(plan.Pipelines) != 1 {
				t.Fatalf("Load returned no error and plan %+v, want one pipeline", plan)
			}
			return
		}
		if plan != nil {
			t.Fatalf("Load returned both a plan and %v", err)
		}
		es, ok := yamlconf.AsErrors(err)
		if !ok || len(es) == 0 {
			t.Fatalf("Load error %T %v, want non-empty yamlconf.Errors", err, err)
		}
		for _, e := range es {
			if e.File == "" {
				t.Errorf("error without a file: %q", e)
			}
			if e.File != "p.yaml" {
				t.Errorf("error in %s, want only p.yaml (gateway.yaml is fixed and valid): %q", e.File, e)
			}
			if e.Line != 0 && (e.Line < 1 || e.Column < 1) {
				t.Errorf("error at line %d, column %d, want both >= 1: %q", e.Line, e.Column, e)
			}
			if e.Msg == "" {
				t.Errorf("error without a message: %#v", e)
			}
		}
	})
}

// fuzzInput is what fuzzed templates render against: values full of the
// characters that would escape a path segment.
func fuzzInput(v string) map[string]any {
	return map[string]any{
		"v":      v,
		"params": map[string]any{"q": "a/b?c#d", "id": "../admin", "n": 1.5, "list": []any{"x/y", 2, nil}},
		"item":   map[string]any{"id": "/etc/passwd#"},
		"index":  0,
	}
}

// FuzzInterpolation checks splitting, compiling and rendering `${ }`
// templates, and that a value put into a path stays inside one segment.
func FuzzInterpolation(f *testing.F) {
	seeds := []string{
		"${ .params.city }",
		"/markets/${ .item.id }/deals",
		`${ [.deals[][].product_id] | unique | join(",") }`,
		`${ {target: .params.lang, q: [.products[].name]} }`,
		`/products/${ .params.id }/${ .v }?x#y`,
		`${ "}" + .v }`,
		`${ "\(.v | {a: .}) }" }`,
		`${ "a\(.b }`,
		"${ .v",
		"${}",
		"$${ .v }}",
		"/a b/ä/${ .params.list }",
		"${ $ENV }",
		"${ input }",
	}
	for _, s := range seeds {
		f.Add(s, "a/b?c#d")
		f.Add(s, "..")
	}
	f.Add("/x/${ .v }", "")
	f.Add("/x/${ .v }", "Zürich %2F")
	fixed, err := compilePath(stringNode(`/p/${ .v }/q`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src, value string) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		in := fuzzInput(value)

		if parts, err := splitInterpolations(src); err == nil && len(parts)%2 != 1 {
			t.Fatalf("splitInterpolations(%q) = %q: want literals around each expression", src, parts)
		}
		if tm, err := compileString(stringNode(src), src); err == nil {
			_, _ = tm.render(ctx, in)
		}

		// The value alone, in a path segment: it must come back whole,
		// escaped, without a separator of its own, or be refused.
		got, err := fixed.renderPath(ctx, in)
		if err == nil {
			seg := strings.TrimSuffix(strings.TrimPrefix(got, "/p/"), "/q")
			if strings.ContainsAny(seg, "/?#") || strings.ContainsAny(value, `/\`) {
				t.Fatalf("value %q rendered as %q: holds an unescaped / ? or #", value, got)
			}
			if back, err := url.PathUnescape(seg); err != nil || back != value {
				t.Fatalf("value %q rendered as %q, which unescapes to %q, %v", value, got, back, err)
			}
		} else if segmentProblem(value, false) == "" {
			t.Fatalf("renderPath(%q): %v", value, err)
		}

		// The fuzzed text as a path: whatever its expressions produce, the
		// only separators are those of the literal text.
		if !strings.HasPrefix(src, "/") {
			return
		}
		p, err := compilePath(stringNode(src))
		if err != nil {
			return
		}
		out, err := p.renderPath(ctx, in)
		if err != nil {
			return
		}
		lits := strings.Join(p.lits, "")
		if strings.Count(out, "/") != strings.Count(lits, "/") || strings.ContainsAny(out, "?#") {
			t.Fatalf("path %q rendered as %q: a value added a / ? or #", src, out)
		}
	})
}

// stringNode is a YAML string node holding s, as the parser would make it.
func stringNode(s string) *ast.StringNode {
	return ast.String(token.New(s, s, &token.Position{Line: 1, Column: 1}))
}
