package openapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// importDir imports the document at location into a new directory and
// loads it as `manifold serve` would.
func importDir(t *testing.T, location string, opts ImportOptions) (*Imported, *pipeline.Plan, string) {
	t.Helper()
	src, err := LoadSpec(context.Background(), location, nil)
	if err != nil {
		t.Fatal(err)
	}
	im, err := Import(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := im.Write(dir, filepath.Base(location), false); err != nil {
		t.Fatal(err)
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{LookupEnv: lookup(nil)})
	if err != nil {
		t.Fatalf("the imported directory does not load: %v", err)
	}
	return im, plan, dir
}

// TestImportMarkets imports the markets backend's OpenAPI 3.0 document:
// parameters, constraints and response schemas are carried over, and the
// result generates a valid document without lint errors.
func TestImportMarkets(t *testing.T) {
	im, plan, dir := importDir(t, "../test/fixtures/markets-openapi.yaml", ImportOptions{Upstream: "markets"})
	if len(im.Skipped) > 0 || im.URL != "http://127.0.0.1:7102" {
		t.Errorf("skipped %v, url %q", im.Skipped, im.URL)
	}
	var names []string
	for _, p := range plan.Pipelines {
		names = append(names, p.Name)
	}
	if want := []string{"getMarket", "listMarkets", "nearestMarkets"}; !slices.Equal(names, want) {
		t.Fatalf("pipelines %v, want %v", names, want)
	}
	near := plan.Pipeline("nearestMarkets")
	lat := near.Params["lat"]
	if near.Path != "/markets/nearest" || lat.Type != "number" || !lat.IsRequired() || *lat.Minimum != -90 || *lat.Maximum != 90 || lat.Example != 52.52 {
		t.Errorf("nearestMarkets %s, lat %+v", near.Path, lat)
	}
	if limit := near.Params["limit"]; limit.Type != "integer" || limit.Default != 10 || *limit.Maximum != 50 {
		t.Errorf("limit (a $ref'd parameter) %+v", limit)
	}
	get := plan.Pipeline("getMarket")
	if id := get.Params["id"]; get.Path != "/markets/{id}" || id.In != "path" || id.Pattern != "^[a-z]{3}-[0-9]{2}$" {
		t.Errorf("getMarket %s, id %+v", get.Path, id)
	}
	if get.Response == nil || get.Response.Schema["type"] != "object" {
		t.Errorf("getMarket response %+v", get.Response)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "markets-get-market.yaml"))
	if strings.Contains(string(data), "$ref") || !strings.Contains(string(data), "- \"null\"") {
		t.Errorf("the schema is not inlined in 3.1 form:\n%s", data)
	}
	if pl := plan.Gateway.Plugin; pl.NameForHuman != "Markets API" || pl.NameForModel != "markets_api" || pl.ContactEmail != "markets@example.com" {
		t.Errorf("plugin from info: %+v", pl)
	}
	sp := generate(t, plan)
	if errs := Errors(sp.Findings); len(errs) > 0 {
		t.Errorf("lint errors: %v", errs)
	}
}

// TestImportSwagger2 imports a Swagger 2.0 document: converted to OpenAPI
// 3, its server from host and basePath, its body parameter as the
// pipeline's body, and what cannot be carried over listed.
func TestImportSwagger2(t *testing.T) {
	im, plan, dir := importDir(t, "testdata/deals-swagger.yaml", ImportOptions{Upstream: "deals", PathPrefix: "deals-api"})
	if im.URL != "https://deals.internal.example.com/api" {
		t.Errorf("url %q", im.URL)
	}
	wantSkipped := []string{
		`GET /deals: header parameter "X-Request-Id" is left out`,
		"POST /deals/upload: the request body is multipart/form-data: only JSON bodies are imported",
	}
	if len(im.Skipped) != len(wantSkipped) {
		t.Fatalf("skipped %q, want %q", im.Skipped, wantSkipped)
	}
	for i, w := range wantSkipped {
		if !strings.HasPrefix(im.Skipped[i], w) {
			t.Errorf("skipped %q, want %q", im.Skipped[i], w)
		}
	}
	claim := plan.Pipeline("claimDeal")
	if claim == nil || claim.Method != "POST" || claim.Path != "/deals-api/deals/{id}/claim" || claim.Body == nil || claim.Body.Schema["required"] == nil {
		t.Fatalf("claimDeal %+v", claim)
	}
	list := plan.Pipeline("list_deals")
	if p := list.Params["product_ids"]; p == nil || p.Type != "string" || !strings.Contains(p.Description, "Comma-separated") {
		t.Errorf("list parameter %+v", p)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "deals-list-deals.yaml"))
	if !strings.Contains(string(data), `split(",")`) {
		t.Errorf("an exploded list is not sent as repeated keys:\n%s", data)
	}
	generate(t, plan)
}

// TestImportConversions covers what an import does with the rough edges
// of real documents.
func TestImportConversions(t *testing.T) {
	const head = "openapi: 3.1.0\ninfo: {title: T, version: '1'}\nservers: [{url: 'http://127.0.0.1:9/v2/'}]\npaths:\n"
	cases := []struct {
		name, paths string
		opts        ImportOptions
		check       func(t *testing.T, im *Imported, plan *pipeline.Plan)
	}{
		{"names from method and path", "  /items/{item-id}:\n    get:\n      parameters: [{name: item-id, in: path, required: true, schema: {type: integer}}]\n      responses: {'200': {description: ok}}\n",
			ImportOptions{}, func(t *testing.T, im *Imported, plan *pipeline.Plan) {
				p := plan.Pipeline("getItemsByItemId")
				if p == nil || p.Path != "/items/{item_id}" || p.Params["item_id"].Type != "integer" {
					t.Fatalf("pipelines %v", im.Pipelines)
				}
				if im.URL != "http://127.0.0.1:9/v2" {
					t.Errorf("url %q", im.URL)
				}
			}},
		{"query names kept for the backend", "  /search:\n    get:\n      operationId: search-items\n      parameters: [{name: page-size, in: query, schema: {type: integer, minimum: 1}}]\n      responses: {'200': {description: ok, content: {application/json: {schema: {type: array}}}}}\n",
			ImportOptions{}, func(t *testing.T, im *Imported, plan *pipeline.Plan) {
				p := plan.Pipeline("searchItems")
				if p == nil || p.Params["page_size"] == nil {
					t.Fatalf("pipelines %v", im.Pipelines)
				}
				step, _ := yaml.Marshal(im.Pipelines[0].Fields)
				if !strings.Contains(string(step), "page-size: ${ .params.page_size }") {
					t.Errorf("the backend's query name is not kept:\n%s", step)
				}
			}},
		{"long texts trimmed", "  /a:\n    get:\n      operationId: a\n      summary: " + strings.Repeat("word ", 100) + "\n      parameters: [{name: q, in: query, description: " + strings.Repeat("long ", 200) + ", schema: {type: string}}]\n      responses: {'200': {description: ok}}\n",
			ImportOptions{}, func(t *testing.T, im *Imported, plan *pipeline.Plan) {
				p := plan.Pipeline("a")
				if n := len([]rune(p.Summary)); n > pipeline.MaxSummary || !strings.HasSuffix(p.Summary, "…") {
					t.Errorf("summary of %d characters: %q", n, p.Summary)
				}
				if n := len([]rune(p.Params["q"].Description)); n > pipeline.MaxParamDescription {
					t.Errorf("parameter description of %d characters", n)
				}
			}},
		{"what cannot be carried over", "  /a:\n    get:\n      operationId: a\n      parameters: [{name: session, in: cookie, schema: {type: string}}, {name: filter, in: query, schema: {type: object}}]\n      responses: {'200': {description: ok}}\n" +
			"  /csv:\n    get:\n      operationId: csv\n      responses: {'200': {description: ok, content: {text/csv: {schema: {type: string}}}}}\n" +
			"  /metrics:\n    get:\n      operationId: metrics\n      responses: {'200': {description: ok}}\n" +
			"  /b:\n    get:\n      operationId: b\n      parameters: [{name: token, in: cookie, required: true, schema: {type: string}}]\n      responses: {'200': {description: ok}}\n",
			ImportOptions{}, func(t *testing.T, im *Imported, plan *pipeline.Plan) {
				if len(plan.Pipelines) != 1 || plan.Pipeline("a") == nil {
					t.Errorf("pipelines %v, want only a", im.Pipelines)
				}
				want := []string{`GET /a: cookie parameter "session"`, `GET /a: parameter "filter" is left out: object`, `GET /b: cookie parameter "token"`, `GET /b: required cookie parameter "token" cannot be carried over`, "GET /csv: it answers text/csv", "GET /metrics: /metrics is served by the gateway itself"}
				if len(im.Skipped) != len(want) {
					t.Fatalf("skipped %q, want %d", im.Skipped, len(want))
				}
				for i, w := range want {
					if !strings.HasPrefix(im.Skipped[i], w) {
						t.Errorf("skipped %q, want %q", im.Skipped[i], w)
					}
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "api.yaml")
			if err := os.WriteFile(file, []byte(head+c.paths), 0o644); err != nil {
				t.Fatal(err)
			}
			c.opts.Upstream = "api"
			im, plan, _ := importDir(t, file, c.opts)
			c.check(t, im, plan)
		})
	}
}

// TestImportIntoExistingDirectory: the upstream joins gateway.yaml, whose
// comments stay; nothing is overwritten without force.
func TestImportIntoExistingDirectory(t *testing.T) {
	dir := t.TempDir()
	gw := "# Our gateway.\nupstreams:\n  # the shop\n  shop: {url: \"http://127.0.0.1:1\"}\n"
	if err := os.WriteFile(filepath.Join(dir, "gateway.yaml"), []byte(gw), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := LoadSpec(context.Background(), "../test/fixtures/markets-openapi.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	im, err := Import(src, ImportOptions{Upstream: "markets", URL: "http://127.0.0.1:2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Write(dir, "markets.yaml", false); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "gateway.yaml"))
	for _, want := range []string{"# Our gateway.", "# the shop", "shop: {url: \"http://127.0.0.1:1\"}", "markets:\n    url: http://127.0.0.1:2"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("gateway.yaml lacks %q:\n%s", want, data)
		}
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{LookupEnv: lookup(nil)})
	if err != nil || len(plan.Gateway.Upstreams) != 2 || len(plan.Pipelines) != 3 {
		t.Fatalf("load after the import: %v", err)
	}
	if _, err := im.Write(dir, "markets.yaml", false); !errors.Is(err, ErrExists) {
		t.Errorf("a second import: %v, want ErrExists", err)
	}
	im.URL = "http://127.0.0.1:3"
	if _, err := im.Write(dir, "markets.yaml", true); err != nil {
		t.Fatalf("with force: %v", err)
	}
	plan, err = pipeline.LoadDir(dir, pipeline.LoadOptions{LookupEnv: lookup(nil)})
	if err != nil || plan.Gateway.Upstreams["markets"].URL != "http://127.0.0.1:3" {
		t.Errorf("with force, the upstream is not replaced: %v", err)
	}
}

// TestLoadSpecFromURL reads a document over HTTP; a relative server is
// resolved against the document's URL.
func TestLoadSpecFromURL(t *testing.T) {
	spec := "openapi: 3.0.3\ninfo: {title: T, version: '1'}\nservers: [{url: /api}]\npaths:\n  /ping:\n    get:\n      operationId: ping\n      responses: {'200': {description: ok}}\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/openapi.yaml" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(spec))
	}))
	defer srv.Close()
	src, err := LoadSpec(context.Background(), srv.URL+"/openapi.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	im, err := Import(src, ImportOptions{Upstream: "api"})
	if err != nil || im.URL != srv.URL+"/api" {
		t.Fatalf("import: %v, url %q, want %s/api", err, im.URL, srv.URL)
	}
	if _, err := LoadSpec(context.Background(), srv.URL+"/missing.yaml", nil); err == nil {
		t.Error("a 404 document loaded")
	}
	file := filepath.Join(t.TempDir(), "x.yaml")
	_ = os.WriteFile(file, []byte("openapi: 3.0.3\ninfo: {title: T, version: '1'}\npaths: {}\n"), 0o644)
	src, err = LoadSpec(context.Background(), file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Import(src, ImportOptions{Upstream: "api"}); !errors.Is(err, ErrImport) {
		t.Errorf("a document without servers: %v, want ErrImport (pass --url)", err)
	}
	_ = os.WriteFile(file, []byte("hello: world\n"), 0o644)
	if _, err := LoadSpec(context.Background(), file, nil); !errors.Is(err, ErrNotOpenAPI) {
		t.Errorf("not a document: %v, want ErrNotOpenAPI", err)
	}
}
