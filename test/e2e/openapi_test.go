package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/openapi"
)

// loadSpec fetches and loads a served OpenAPI document, which must pass
// kin-openapi's validation.
func loadSpec(t *testing.T, url string) (*openapi3.T, answer) {
	t.Helper()
	a := get(t, url)
	if a.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, a.status, a.body)
	}
	doc, err := openapi3.NewLoader().LoadFromData(a.body)
	if err != nil {
		t.Fatalf("GET %s: not an OpenAPI document: %v", url, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("GET %s: invalid OpenAPI document: %v", url, err)
	}
	if doc.OpenAPI != openapi.Version {
		t.Errorf("openapi %q, want %s", doc.OpenAPI, openapi.Version)
	}
	return doc, a
}

// TestOpenAPIDemo reads the demo's documents as an assistant does: the
// manifest, then the document it points at, revalidated by ETag.
func TestOpenAPIDemo(t *testing.T) {
	base := startDemo(t)
	m := decode[openapi.Manifest](t, get(t, base+"/.well-known/ai-plugin.json"))
	if m.NameForModel != "city_deals" || m.API.Type != "openapi" || !strings.HasSuffix(m.API.URL, "/openapi.yaml") || m.Auth.Type != "service_http" {
		t.Errorf("manifest %+v", m)
	}
	doc, yaml := loadSpec(t, base+"/openapi.yaml")
	_, js := loadSpec(t, base+"/openapi.json")
	var ids []string
	for _, path := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(path).Operations() {
			ids = append(ids, op.OperationID)
		}
	}
	for _, want := range []string{"cityDeals", "nearestMarkets", "productSearch"} {
		if !slices.Contains(ids, want) {
			t.Errorf("operationIds %v lack %s", ids, want)
		}
	}
	// The demo's backends listen on ports picked at start; the document
	// does not show them. It names the gateway's own port (public_url
	// follows the listener), else it is byte for byte the golden one.
	want, err := os.ReadFile("../../openapi/testdata/demo.openapi.yaml")
	if err != nil || strings.ReplaceAll(string(yaml.body), base, "http://localhost:9080") != string(want) {
		t.Errorf("served /openapi.yaml differs from openapi/testdata/demo.openapi.yaml (%v)", err)
	}
	for _, c := range []struct {
		path, contentType string
		a                 answer
	}{{"/openapi.yaml", "application/yaml", yaml}, {"/openapi.json", "application/json", js}} {
		tag := c.a.header.Get("ETag")
		if c.a.header.Get("Content-Type") != c.contentType || !strings.HasPrefix(tag, `"`) || c.a.header.Get("Cache-Control") == "" {
			t.Errorf("%s: Content-Type %q, ETag %q, Cache-Control %q", c.path, c.a.header.Get("Content-Type"), tag, c.a.header.Get("Cache-Control"))
		}
		req, _ := http.NewRequest(http.MethodGet, base+c.path, nil)
		req.Header.Set("If-None-Match", tag)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != tag {
			t.Errorf("%s with If-None-Match: %d, %d bytes, ETag %q; want 304, empty, the same ETag", c.path, resp.StatusCode, len(body), resp.Header.Get("ETag"))
		}
	}
}

// validationDir is a directory whose pipelines check every kind of
// parameter and a JSON body. Its backend counts the calls it gets.
func validationDir(t *testing.T) (base string, calls *atomic.Int64) {
	calls = new(atomic.Int64)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(backend.Close)
	base, _ = serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  api: {url: %q}\n", backend.URL),
		"items.yaml": `
name: items
summary: Items of a shelf
path: /v1/shelves/{shelf}/items
unknown_query: reject
params:
  shelf: {in: path, type: string, pattern: "^[a-z]+$"}
  q:     {in: query, type: string, required: true, min_length: 2}
  limit: {in: query, type: integer, default: 5, minimum: 1, maximum: 20}
  lang:  {in: query, type: string, default: en, enum: [en, de]}
  fresh: {in: query, type: boolean}
steps:
  s: {upstream: api, path: /items}
response: {schema: {type: object}}
`,
		"order.yaml": `
name: order
summary: Order an item
method: POST
path: /v1/orders
body:
  schema:
    type: object
    required: [sku, qty]
    additionalProperties: false
    properties:
      sku: {type: string, pattern: "^p[0-9]+$"}
      qty: {type: integer, minimum: 1}
steps:
  s: {upstream: api, method: POST, path: /orders, body: "${ .body }"}
response: {schema: {type: object}}
`,
	})
	return base, calls
}

// TestOpenAPIRejectsBadRequests sends malformed requests: each gets one
// problem listing every violation as {in, name, reason}, and no backend
// is called.
func TestOpenAPIRejectsBadRequests(t *testing.T) {
	base, calls := validationDir(t)
	type entry = pipeline.ParamProblem
	cases := []struct {
		name        string
		method, url string
		contentType string
		body        string
		status      int
		want        []entry
	}{
		{"missing required", "GET", "/v1/shelves/a/items", "", "", 400,
			[]entry{{In: "query", Name: "q", Reason: "required"}}},
		{"mistyped", "GET", "/v1/shelves/a/items?q=ok&limit=ten&fresh=maybe", "", "", 400,
			[]entry{{In: "query", Name: "limit", Reason: `"ten" is not an integer`}, {In: "query", Name: "fresh", Reason: `"maybe" is not a boolean (true or false)`}}},
		{"out of range", "GET", "/v1/shelves/a/items?q=ok&limit=21", "", "", 400,
			[]entry{{In: "query", Name: "limit", Reason: "must be at most 20"}}},
		{"too short", "GET", "/v1/shelves/a/items?q=o", "", "", 400,
			[]entry{{In: "query", Name: "q", Reason: "must be at least 2 characters"}}},
		{"out of enum", "GET", "/v1/shelves/a/items?q=ok&lang=fr", "", "", 400,
			[]entry{{In: "query", Name: "lang", Reason: "must be one of en, de"}}},
		{"path pattern", "GET", "/v1/shelves/A1/items?q=ok", "", "", 400,
			[]entry{{In: "path", Name: "shelf", Reason: "must match ^[a-z]+$"}}},
		{"unknown query parameter", "GET", "/v1/shelves/a/items?q=ok&debug=1", "", "", 400,
			[]entry{{In: "query", Name: "debug", Reason: "unknown parameter"}}},
		{"everything at once", "GET", "/v1/shelves/a/items?limit=0&lang=xx&debug=1", "", "", 400, []entry{
			{In: "query", Name: "q", Reason: "required"},
			{In: "query", Name: "limit", Reason: "must be at least 1"},
			{In: "query", Name: "lang", Reason: "must be one of en, de"},
			{In: "query", Name: "debug", Reason: "unknown parameter"},
		}},
		{"wrong content type", "POST", "/v1/orders", "text/plain", `{"sku":"p1","qty":1}`, 415,
			[]entry{{In: "header", Name: "Content-Type", Reason: `"text/plain": must be application/json`}}},
		{"malformed body", "POST", "/v1/orders", "application/json", `{"sku":`, 400,
			[]entry{{In: "body", Name: "body", Reason: "the request body is not valid JSON: syntax error at byte 7"}}},
		{"empty body", "POST", "/v1/orders", "application/json", ``, 400,
			[]entry{{In: "body", Name: "body", Reason: "a JSON request body is required"}}},
		{"body against its schema", "POST", "/v1/orders", "application/json", `{"qty":0,"sku":"x","gift":true}`, 400, []entry{
			{In: "body", Name: "/gift", Reason: "is not allowed (unknown member)"},
			{In: "body", Name: "/qty", Reason: "must be at least 1"},
			{In: "body", Name: "/sku", Reason: "must match ^p[0-9]+$"},
		}},
		{"body missing a member", "POST", "/v1/orders", "application/json", `{"sku":"p1"}`, 400,
			[]entry{{In: "body", Name: "/qty", Reason: "required"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := calls.Load()
			req, _ := http.NewRequest(c.method, base+c.url, strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p struct {
				Type   string  `json:"type"`
				Status int     `json:"status"`
				Errors []entry `json:"errors"`
			}
			body, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("answer is not a problem: %s", body)
			}
			if resp.StatusCode != c.status || p.Status != c.status || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("status %d (%d in the problem), %s; want %d problem+json", resp.StatusCode, p.Status, resp.Header.Get("Content-Type"), c.status)
			}
			if !slices.Equal(p.Errors, c.want) {
				t.Errorf("errors\n got %+v\nwant %+v", p.Errors, c.want)
			}
			if n := calls.Load() - before; n != 0 {
				t.Errorf("the backend was called %d times for a bad request", n)
			}
		})
	}
	for _, ok := range []string{"/v1/shelves/a/items?q=ok", "/v1/shelves/a/items?q=ok&lang=&limit="} {
		if a := get(t, base+ok); a.status != http.StatusOK {
			t.Errorf("GET %s: %d %s, want 200 (empty values take the defaults)", ok, a.status, a.body)
		}
	}
	for _, ct := range []string{"application/json; charset=utf-8", "application/merge-patch+json"} {
		resp, err := http.Post(base+"/v1/orders", ct, strings.NewReader(`{"sku":"p1","qty":1}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("POST with Content-Type %s: %d, want 200", ct, resp.StatusCode)
		}
	}
	if n := calls.Load(); n != 4 {
		t.Errorf("the backend got %d calls, want 4: one per valid request", n)
	}
}

// TestOpenAPIImportRoundTrip imports the markets backend's own document,
// serves the result against the running backend, calls it, and reads the
// gateway's document of it.
func TestOpenAPIImportRoundTrip(t *testing.T) {
	backends, err := demo.Start(demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backends.Shutdown(context.Background()) })
	src, err := openapi.LoadSpec(context.Background(), "../fixtures/markets-openapi.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	im, err := openapi.Import(src, openapi.ImportOptions{Upstream: "markets", URL: backends.Markets})
	if err != nil || len(im.Skipped) > 0 {
		t.Fatalf("import: %v, skipped %v", err, im.Skipped)
	}
	dir := t.TempDir()
	if _, err := im.Write(dir, "markets-openapi.yaml", false); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	_ = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			data, _ := os.ReadFile(path)
			rel, _ := filepath.Rel(dir, path)
			files[filepath.ToSlash(rel)] = string(data)
		}
		return nil
	})
	base, _ := serveDir(t, files)

	near := decode[struct {
		Markets []struct {
			ID         string  `json:"id"`
			DistanceKM float64 `json:"distance_km"`
		} `json:"markets"`
	}](t, get(t, base+"/markets/nearest?lat=52.52&lon=13.405&radius_km=3"))
	if len(near.Markets) == 0 || !strings.HasPrefix(near.Markets[0].ID, "ber-") || near.Markets[0].DistanceKM > 3 {
		t.Errorf("nearest markets through the gateway: %+v", near)
	}
	city := decode[struct {
		City    string           `json:"city"`
		Markets []map[string]any `json:"markets"`
	}](t, get(t, base+"/markets?city=paris&limit=2"))
	if city.City != "Paris" || len(city.Markets) != 2 {
		t.Errorf("markets of paris: %+v", city)
	}
	if m := decode[map[string]any](t, get(t, base+"/markets/ber-01")); m["id"] != "ber-01" {
		t.Errorf("market ber-01: %v", m)
	}
	if a := get(t, base+"/markets/nearest?lat=north&lon=13.4"); a.status != 400 || !strings.Contains(string(a.body), `"name":"lat"`) {
		t.Errorf("bad lat: %d %s", a.status, a.body)
	}

	doc, _ := loadSpec(t, base+"/openapi.json")
	op := doc.Paths.Value("/markets/nearest").Get
	if op == nil || op.OperationID != "nearestMarkets" {
		t.Fatalf("the gateway's document lacks nearestMarkets: %v", doc.Paths.Keys())
	}
	lat := op.Parameters.GetByInAndName("query", "lat")
	if lat == nil || !lat.Required || !lat.Schema.Value.Type.Is("number") || *lat.Schema.Value.Min != -90 {
		t.Errorf("lat parameter %+v", lat)
	}
	market := doc.Paths.Value("/markets/{id}").Get.Responses.Value("200").Value.Content.Get("application/json").Schema.Value
	if hours := market.Properties["opening_hours"]; hours == nil || !slices.Equal(*hours.Value.Type, []string{"string", "null"}) {
		t.Errorf("opening_hours (nullable in the 3.0 source) is not [string, null] in the 3.1 document: %+v", hours)
	}
}
