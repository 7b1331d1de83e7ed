package pipeline

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

var update = flag.Bool("update", false, "rewrite the errors.golden files of testdata/invalid")

// testEnv is the environment the test directories see: ${NAME} resolves
// from it, and nothing else does.
var testEnv = map[string]string{
	"MANIFOLD_DEMO_PRODUCTS_URL":    "http://127.0.0.1:7101",
	"MANIFOLD_DEMO_MARKETS_URL":     "http://127.0.0.1:7102",
	"MANIFOLD_DEMO_DEALS_URL":       "http://127.0.0.1:7103",
	"MANIFOLD_DEMO_TRANSLATION_URL": "http://127.0.0.1:7104",
	"PRODUCTS_URL":                  "http://products.test",
	"PRODUCTS_TOKEN":                "s3cret-token",
}

func lookupTestEnv(name string) (string, bool) {
	v, ok := testEnv[name]
	return v, ok
}

// TestLoadInvalid loads every directory under testdata/invalid and compares
// the errors with the directory's errors.golden, one error per line. Run
// with -update to rewrite the golden files, then review them by hand: each
// line must point at the offending key or value and say what to fix.
func TestLoadInvalid(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "invalid", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no test directories under testdata/invalid")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			plan, err := Load(os.DirFS(dir), "", LoadOptions{LookupEnv: lookupTestEnv})
			if err == nil {
				t.Fatalf("Load returned a plan with %d pipelines, want errors", len(plan.Pipelines))
			}
			es, ok := yamlconf.AsErrors(err)
			if !ok {
				t.Fatalf("Load error is %T, want yamlconf.Errors: %v", err, err)
			}
			for _, e := range es {
				if e.File == "" {
					t.Errorf("error without a file: %v", e)
				}
				// Only problems of a whole file may lack a key.
				fileLevel := e.Line == 0 || strings.HasPrefix(e.Msg, "invalid YAML:") ||
					strings.HasPrefix(e.Msg, "one YAML document") || strings.HasPrefix(e.Msg, "want a mapping of keys")
				if e.Key == "" && !fileLevel {
					t.Errorf("error without a key: %v", e)
				}
				if e.Line < 0 || e.Line > 0 && e.Column < 1 {
					t.Errorf("error at line %d, column %d: %v", e.Line, e.Column, e)
				}
			}
			got := err.Error() + "\n"
			golden := filepath.Join(dir, "errors.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestLoadInvalid -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// demoDir is the demo pipeline directory that `manifold demo` serves.
const demoDir = "../../pipelines"

func TestLoadDemo(t *testing.T) {
	plan, err := LoadDir(demoDir, LoadOptions{LookupEnv: lookupTestEnv})
	if err != nil {
		t.Fatalf("LoadDir(%s): %v", demoDir, err)
	}
	var names []string
	for _, p := range plan.Pipelines {
		names = append(names, p.Name)
		if got := plan.Pipeline(p.Name); got != p {
			t.Errorf("Pipeline(%q) = %v, want the listed pipeline", p.Name, got)
		}
	}
	if want := []string{"cityDeals", "nearestMarkets", "placeOrder", "productSearch"}; !slices.Equal(names, want) {
		t.Errorf("pipelines = %v, want %v (sorted by name)", names, want)
	}
	if plan.Pipeline("nope") != nil {
		t.Error(`Pipeline("nope") is not nil`)
	}
	if got, want := plan.Dir, demoDir; got != want {
		t.Errorf("Dir = %q, want %q", got, want)
	}
	city := plan.Pipeline("cityDeals")
	if got, want := city.File, filepath.Join(demoDir, "city-deals.yaml"); got != want {
		t.Errorf("File = %q, want %q", got, want)
	}
	if got, want := city.StepNames(), []string{"markets", "deals", "products", "translate"}; !slices.Equal(got, want) {
		t.Errorf("cityDeals steps = %v, want %v", got, want)
	}
	if got, want := city.ParamOrder, []string{"city", "lang", "limit"}; !slices.Equal(got, want) {
		t.Errorf("cityDeals params = %v, want %v", got, want)
	}
	if got, want := city.Timeout.D(), 3*time.Second; got != want {
		t.Errorf("cityDeals timeout = %v, want %v", got, want)
	}
	if got := plan.Gateway.Upstreams["markets"].URL; got != testEnv["MANIFOLD_DEMO_MARKETS_URL"] {
		t.Errorf("markets url = %q, want it from $MANIFOLD_DEMO_MARKETS_URL", got)
	}
	if !plan.Gateway.Defaults.Access.Public {
		t.Error("demo gateway defaults.access is not public")
	}
}

// TestLoadErrorsNameFiles checks that errors name files under the
// directory given to LoadDir, so that an editor can jump to them.
func TestLoadErrorsNameFiles(t *testing.T) {
	dir := filepath.Join("testdata", "invalid", "missing_env")
	_, err := LoadDir(dir, LoadOptions{LookupEnv: lookupTestEnv})
	es, ok := yamlconf.AsErrors(err)
	if !ok || len(es) == 0 {
		t.Fatalf("LoadDir(%s) = %v, want located errors", dir, err)
	}
	for _, e := range es {
		if want := filepath.Join(dir, "gateway.yaml"); e.File != want {
			t.Errorf("error file = %q, want %q", e.File, want)
		}
		if e.Line < 1 || e.Column < 1 || e.Key == "" {
			t.Errorf("error %q: want a line, a column and a key", e)
		}
	}
	var one yamlconf.Errors
	if !errors.As(err, &one) {
		t.Errorf("errors.As(%T, *yamlconf.Errors) = false", err)
	}
}

func TestAsErrors(t *testing.T) {
	single := &yamlconf.Error{File: "a.yaml", Line: 2, Column: 3, Key: "name", Msg: "required"}
	if got, want := single.Error(), "a.yaml:2:3: name: required"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	es, ok := yamlconf.AsErrors(single)
	if !ok || len(es) != 1 || es[0] != single {
		t.Errorf("AsErrors(*yamlconf.Error) = %v, %v; want the error itself", es, ok)
	}
	if _, ok := yamlconf.AsErrors(errors.New("plain")); ok {
		t.Error("AsErrors(plain error) = true, want false")
	}
	fileOnly := &yamlconf.Error{File: "gateway.yaml", Msg: "missing"}
	if got, want := fileOnly.Error(), "gateway.yaml: missing"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// load loads an in-memory directory and fails the test on errors.
func load(t *testing.T, files map[string]string) *Plan {
	t.Helper()
	plan, err := Load(mapFS(files), "", LoadOptions{LookupEnv: lookupTestEnv})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return plan
}

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

const minimalGateway = `
upstreams:
  products: {url: "http://products.test/"}
  catalog: {url: "http://catalog.test/graphql", kind: graphql}
`

const minimalPipeline = `
name: productSearch
path: /v1/products
params:
  q: {required: true}
steps:
  search:
    upstream: products
    path: /products/search
    query: {q: "${ .params.q }"}
    cache: 30s
  deals:
    upstream: products
    needs: [search]
    foreach: .search
    path: /deals/${ .item.id }
  graph:
    upstream: catalog
    query: "{ item { id } }"
`

func TestLoadDefaults(t *testing.T) {
	plan := load(t, map[string]string{"gateway.yaml": minimalGateway, "search.yaml": minimalPipeline})
	gw := plan.Gateway
	p := plan.Pipeline("productSearch")

	t.Run("pipeline", func(t *testing.T) {
		if p.Method != "GET" {
			t.Errorf("method = %q, want GET", p.Method)
		}
		if got, want := p.Timeout.D(), 10*time.Second; got != want {
			t.Errorf("timeout = %v, want %v", got, want)
		}
		if p.Merge != "group" {
			t.Errorf("merge = %q, want group", p.Merge)
		}
		if p.Access == nil || !p.Access.Public {
			t.Errorf("access = %+v, want public (gateway.yaml has no defaults)", p.Access)
		}
	})
	t.Run("params", func(t *testing.T) {
		q := p.Params["q"]
		if q.In != "query" || q.Type != "string" {
			t.Errorf("q: in %q, type %q; want query, string", q.In, q.Type)
		}
		if !q.IsRequired() {
			t.Error("q with required: true is not required")
		}
	})
	t.Run("steps", func(t *testing.T) {
		search, deals, graph := p.Steps["search"], p.Steps["deals"], p.Steps["graph"]
		if search.Method != "GET" {
			t.Errorf("search method = %q, want GET", search.Method)
		}
		if graph.Method != "POST" {
			t.Errorf("graphql step method = %q, want POST", graph.Method)
		}
		if deals.Concurrency != 8 {
			t.Errorf("foreach concurrency = %d, want 8", deals.Concurrency)
		}
		if search.Stale == nil || search.Stale.D() != 5*time.Minute {
			t.Errorf("stale = %v, want 10 x cache = 5m", search.Stale)
		}
		if deals.Stale != nil {
			t.Errorf("stale without cache = %v, want nil", deals.Stale.D())
		}
	})
	t.Run("upstream", func(t *testing.T) {
		u := gw.Upstreams["products"]
		want := &gateway.Upstream{
			URL:         "http://products.test/",
			Kind:        "http",
			Timeout:     yamlconf.Duration(3 * time.Second),
			Concurrency: 64,
			MaxResponse: 10 << 20,
			Breaker:     gateway.Breaker{Failures: 5, Window: yamlconf.Duration(10 * time.Second), Cooldown: yamlconf.Duration(15 * time.Second)},
			Format:      "json",
			ErrorDetail: new(true),
		}
		if !reflect.DeepEqual(u, want) {
			t.Errorf("upstream = %+v\nwant %+v", u, want)
		}
		if got := gw.Upstreams["catalog"].Kind; got != "graphql" {
			t.Errorf("catalog kind = %q, want graphql", got)
		}
	})
	t.Run("gateway", func(t *testing.T) {
		got := []any{gw.Server.Listen, gw.Server.PublicURL, gw.Server.MaxBody, gw.Server.MaxResponse,
			gw.Admin.Listen, gw.Cache.MaxSize, gw.Audit.NATS, gw.Audit.Stream, gw.Audit.Subject, gw.Telemetry.ServiceName}
		want := []any{":9080", "http://localhost:9080", yamlconf.Size(1 << 20), yamlconf.Size(100_000),
			"127.0.0.1:9180", yamlconf.Size(256 << 20), "embedded", "MANIFOLD_AUDIT", "manifold.audit", "manifold"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("gateway defaults = %v\nwant %v", got, want)
		}
	})
}

func TestLoadExplicitValues(t *testing.T) {
	plan := load(t, map[string]string{
		"gateway.yaml": `
server: {listen: "127.0.0.1:8080", max_body: 2MiB, max_response: 50KB}
upstreams:
  products:
    url: http://products.test
    timeout: 800ms
    retries: 2
    concurrency: 16
    breaker: {failures: 3, window: 1m, cooldown: 30s}
defaults: {access: {roles: [reader], rate: 120/min}}
`,
		"search.yaml": `
name: productSearch
method: post
path: /v1/products
body: {description: The search, schema: {type: object}}
timeout: 40s
output: .search
steps:
  search:
    upstream: products
    method: put
    path: /products/search
    body: "${ .body }"
    foreach: .body.items
    concurrency: 2
    cache: 1m
    stale: 1h
`})
	gw, p := plan.Gateway, plan.Pipeline("productSearch")
	s := p.Steps["search"]
	checks := []struct {
		name      string
		got, want any
	}{
		{"public_url from listen", gw.Server.PublicURL, "http://127.0.0.1:8080"},
		{"max_body", gw.Server.MaxBody, yamlconf.Size(2 << 20)},
		{"max_response", gw.Server.MaxResponse, yamlconf.Size(50_000)},
		{"upstream timeout", gw.Upstreams["products"].Timeout.D(), 800 * time.Millisecond},
		{"upstream breaker", gw.Upstreams["products"].Breaker, gateway.Breaker{Failures: 3, Window: yamlconf.Duration(time.Minute), Cooldown: yamlconf.Duration(30 * time.Second)}},
		{"method upper-cased", p.Method, "POST"},
		{"timeout at the limit", p.Timeout.D(), 40 * time.Second},
		{"merge with output", p.Merge, ""},
		{"step method upper-cased", s.Method, "PUT"},
		{"concurrency", s.Concurrency, 2},
		{"stale as written", s.Stale.D(), time.Hour},
		{"access from gateway defaults", p.Access.Roles, []string{"reader"}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}

// TestLoadEmptyValues checks that a key written without a value means
// "not set", and that nothing compiled from it is missing at run time.
func TestLoadEmptyValues(t *testing.T) {
	plan := load(t, map[string]string{
		"gateway.yaml": minimalGateway + "server:\ncache:\n",
		"empty.yaml": `
name: empty
path: /v1/empty
cache:
output:
steps:
  s:
    upstream: products
    path: /s
    headers: {X-Empty: , X-Set: "${ .params | length }"}
    select:
`})
	p := plan.Pipeline("empty")
	if p.Cache != 0 || p.Output != nil || p.Merge != "group" {
		t.Errorf("cache %v, output %v, merge %q; want unset, unset, group", p.Cache, p.Output, p.Merge)
	}
	st := p.steps[0]
	if st.sel != nil {
		t.Error("select: with no value compiled to an expression")
	}
	for _, h := range st.headers {
		if h.t == nil {
			t.Fatalf("header %s has no template", h.name)
		}
		v, err := h.t.render(t.Context(), map[string]any{"params": map[string]any{}})
		if err != nil {
			t.Fatalf("header %s: %v", h.name, err)
		}
		if want := map[string]any{"X-Empty": nil, "X-Set": 0}[h.name]; v != want {
			t.Errorf("header %s = %#v, want %#v", h.name, v, want)
		}
	}
}

func TestLoadOrder(t *testing.T) {
	plan := load(t, map[string]string{
		"gateway.yaml": minimalGateway,
		"order.yaml": `
name: ordered
path: /v1/ordered
params:
  zeta: {type: string}
  alpha: {type: integer}
  mid: {type: boolean}
steps:
  zulu: {upstream: products, path: /z}
  alpha: {upstream: products, path: /a, needs: [zulu]}
  mike: {upstream: products, path: /m}
`})
	p := plan.Pipeline("ordered")
	if got, want := p.ParamOrder, []string{"zeta", "alpha", "mid"}; !slices.Equal(got, want) {
		t.Errorf("ParamOrder = %v, want %v (as written)", got, want)
	}
	if got, want := p.StepNames(), []string{"zulu", "alpha", "mike"}; !slices.Equal(got, want) {
		t.Errorf("StepNames = %v, want %v (as written)", got, want)
	}
}

func TestLoadEnv(t *testing.T) {
	gateway := `
admin: {key: "${ADMIN_KEY}"}
upstreams:
  products:
    url: ${PRODUCTS_URL}
    headers:
      Authorization: "Bearer ${PRODUCTS_TOKEN}"
      X-Empty: "${EMPTY}"
      X-Literal: |-
        ${PRODUCTS_TOKEN}
`
	env := map[string]string{
		"ADMIN_KEY":      "admin-key-1-0123456789abcdef",
		"PRODUCTS_URL":   "http://products.test",
		"PRODUCTS_TOKEN": "tok-2",
		"EMPTY":          "",
	}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	pipeline := `
name: env
path: /v1/env/{id}
params:
  id: {in: path}
steps:
  s:
    upstream: products
    path: /items/${ .params.id }
`
	files := map[string]string{"gateway.yaml": gateway, "env.yaml": pipeline}
	plan, err := Load(mapFS(files), "", LoadOptions{LookupEnv: lookup})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	gw := plan.Gateway
	u := gw.Upstreams["products"]
	if u.URL != "http://products.test" {
		t.Errorf("url = %q, want the value of $PRODUCTS_URL", u.URL)
	}
	if got, want := u.Headers["Authorization"], "Bearer tok-2"; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if got, want := u.Headers["X-Literal"], "tok-2"; got != want {
		t.Errorf("literal block = %q, want %q", got, want)
	}
	if got := u.Headers["X-Empty"]; got != "" {
		t.Errorf("X-Empty = %q, want empty", got)
	}
	if gw.Admin.Key != "admin-key-1-0123456789abcdef" {
		t.Errorf("admin key = %q, want the value of $ADMIN_KEY", gw.Admin.Key)
	}
	secrets := slices.Compact(slices.Sorted(slices.Values(gw.Secrets())))
	if want := []string{"admin-key-1-0123456789abcdef", "http://products.test", "tok-2"}; !slices.Equal(secrets, want) {
		t.Errorf("Secrets() = %v, want %v (values, not names; empty values left out)", secrets, want)
	}

	t.Run("pipelines do not read the environment", func(t *testing.T) {
		// In a pipeline file ${ } is jq: ${HOME} is a call of the
		// undefined function HOME, not the variable.
		files["env.yaml"] = strings.Replace(pipeline, "/items/${ .params.id }", "/items/${HOME}", 1)
		_, err := Load(mapFS(files), "", LoadOptions{LookupEnv: func(string) (string, bool) { return "/root", true }})
		if err == nil || !strings.Contains(err.Error(), "function not defined: HOME/0") {
			t.Errorf("Load = %v, want a jq error for ${HOME}", err)
		}
	})
}

func TestLoadAccess(t *testing.T) {
	gw := minimalGateway + "defaults: {access: {roles: [reader], rate: 120/min}}\n"
	pipe := func(name, access string) string {
		return "name: " + name + "\npath: /v1/" + name + "\n" + access +
			"\nsteps:\n  s: {upstream: products, path: /s}\n"
	}
	plan := load(t, map[string]string{
		"gateway.yaml": gw,
		"open.yaml":    pipe("open", "access: public"),
		"roles.yaml":   pipe("roles", "access: {roles: [admin, editor], rate: 60/min burst 10}"),
		"dflt.yaml":    pipe("dflt", ""),
		"anyone.yaml":  pipe("anyone", "access: {}"),
	})
	tests := []struct {
		pipeline string
		want     gateway.Access
	}{
		{"open", gateway.Access{Public: true}},
		{"roles", gateway.Access{Roles: []string{"admin", "editor"}, Rate: mustRate(t, "60/min burst 10")}},
		{"dflt", gateway.Access{Roles: []string{"reader"}, Rate: mustRate(t, "120/min")}},
		{"anyone", gateway.Access{}},
	}
	for _, tt := range tests {
		t.Run(tt.pipeline, func(t *testing.T) {
			got := plan.Pipeline(tt.pipeline).Access
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("access = %+v (rate %+v), want %+v (rate %+v)", *got, got.Rate, tt.want, tt.want.Rate)
			}
		})
	}
}

// mustRate parses a rate known to be valid.
func mustRate(t *testing.T, text string) *yamlconf.Rate {
	t.Helper()
	r, ok := yamlconf.ParseRate(text)
	if !ok {
		t.Fatalf("ParseRate(%q) failed", text)
	}
	return &r
}
