package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/manifoldgw/manifold/internal/demo"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/pipeline/typecheck"
)

func loadDemo(t *testing.T, env map[string]string) *pipeline.Plan {
	t.Helper()
	plan, err := pipeline.LoadDir("../pipelines", pipeline.LoadOptions{LookupEnv: func(name string) (string, bool) {
		if v, ok := env[name]; ok {
			return v, true
		}
		return "http://127.0.0.1:1", true
	}})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestDemoInferredMatchesHandWritten compares the schema inferred for
// every demo pipeline with its hand-written response.schema: every
// property the hand-written one declares must be inferred with the same
// type. Differences where inference gives any ({}) are listed in the log.
func TestDemoInferredMatchesHandWritten(t *testing.T) {
	plan := loadDemo(t, nil)
	if len(plan.Warnings) > 0 {
		t.Errorf("the demo has warnings: %v", plan.Warnings)
	}
	for _, p := range plan.Pipelines {
		if p.Response == nil || len(p.Response.Schema) == 0 {
			t.Fatalf("%s has no hand-written schema to compare with", p.Name)
		}
		compareSchemas(t, p.Name, p.Response.Schema, p.InferredSchema())
	}
}

func compareSchemas(t *testing.T, at string, hand, inferred map[string]any) {
	t.Helper()
	if len(inferred) == 0 {
		t.Logf("%s: inferred any, hand-written %v", at, hand["type"])
		return
	}
	ht, it := typecheck.TypeOf(hand), typecheck.TypeOf(inferred)
	if ht != it && !(ht == "integer" && it == "number") {
		t.Errorf("%s: hand-written type %q, inferred %q", at, ht, it)
		return
	}
	switch ht {
	case "object":
		props := typecheck.Props(inferred)
		for name, h := range typecheck.Props(hand) {
			i, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s.%s: declared by hand, not inferred", at, name)
				continue
			}
			compareSchemas(t, at+"."+name, h.(map[string]any), i)
		}
	case "array":
		if items, ok := hand["items"].(map[string]any); ok {
			compareSchemas(t, at+"[]", items, typecheck.Items(inferred))
		}
	}
}

// TestDemoBackendsMatchTheirDocuments calls each demo backend and checks
// its answer against the upstream's OpenAPI document in pipelines/openapi.
func TestDemoBackendsMatchTheirDocuments(t *testing.T) {
	be, err := demo.Start(demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = be.Shutdown(context.Background()) })
	calls := []struct{ upstream, base, method, path, docPath, body string }{
		{"markets", be.Markets, "GET", "/markets?city=Berlin&limit=2", "/markets", ""},
		{"markets", be.Markets, "GET", "/markets/nearest?lat=52.52&lon=13.40&limit=2", "/markets/nearest", ""},
		{"markets", be.Markets, "GET", "/markets/ber-01", "/markets/{id}", ""},
		{"deals", be.Deals, "GET", "/markets/ber-01/deals", "/markets/{id}/deals", ""},
		{"deals", be.Deals, "GET", "/deals?product_ids=p1001,p1002", "/deals", ""},
		{"deals", be.Deals, "POST", "/orders", "/orders", `{"market_id":"ber-01","items":[{"product_id":"p1001","quantity":2}],"customer":"demo"}`},
		{"products", be.Products, "GET", "/products?ids=p1001,p1002", "/products", ""},
		{"products", be.Products, "GET", "/products/search?q=milk&limit=3", "/products/search", ""},
		{"products", be.Products, "GET", "/products/p1001", "/products/{id}", ""},
		{"translation", be.Translation, "POST", "/translate", "/translate", `{"target":"de","q":["Whole Milk"]}`},
	}
	for _, c := range calls {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			checkAnswer(t, c.upstream, c.base, c.method, c.path, c.docPath, c.body)
		})
	}
}

func checkAnswer(t *testing.T, upstream, base, method, path, docPath, body string) {
	ctx := context.Background()
	d, err := typecheck.Load(os.DirFS("../pipelines"), "openapi/"+upstream+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
	}
	item := d.T.Paths.Value(docPath)
	route := &routers.Route{Spec: d.T, Path: docPath, PathItem: item, Method: method, Operation: item.GetOperation(method)}
	params := map[string]string{}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(data)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		t.Errorf("%s %s: the answer does not match %s: %v\n%s", method, path, upstream, err, data)
	}
}

// TestInferredSchemaPublished: a pipeline without response.schema gets the
// inferred one as its 200 schema and as its MCP tool's output schema.
func TestInferredSchemaPublished(t *testing.T) {
	plan := loadDemo(t, nil)
	p := plan.Pipeline("nearestMarkets")
	p.Response = &pipeline.ResponseSpec{Description: "Markets nearest first"} // as if not written
	doc, err := Generate(plan)
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Value(p.Path).Get
	schema := op.Responses.Value("200").Value.Content["application/json"].Schema.Value
	raw, _ := json.Marshal(schema)
	for _, want := range []string{`"distance_km":{"type":["number","null"]}`, `"deal_count":{"type":["integer","null"]}`, `"opening_hours":{"type":["string","null"]}`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("200 schema lacks %s: %s", want, raw)
		}
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("the document is not valid: %v", err)
	}
}
