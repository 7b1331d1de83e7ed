package pipeline

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestOpenAPIWarnings: a field the schema lacks and a query parameter the
// document does not list are warnings, located, and the plan still loads.
func TestOpenAPIWarnings(t *testing.T) {
	plan, err := Load(os.DirFS("testdata/openapi_warnings"), "", LoadOptions{LookupEnv: lookupTestEnv})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range plan.Warnings {
		got = append(got, w.Error())
	}
	want := []string{
		`items.yaml:7:35: steps.items.query.sort: query parameter "sort" is not one of GET /items in openapi/shop.yaml (it takes category, limit)`,
		`items.yaml:9:9: output: no field "name" here (the schema has id)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	raw, _ := json.Marshal(plan.Pipeline("items").InferredSchema())
	// id is not required by the document: an item without it gives null.
	wantSchema := `{"properties":{"ids":{"items":{"type":["string","null"]},"type":"array"},"names":{"type":"array"}},"type":"object"}`
	if string(raw) != wantSchema {
		t.Errorf("inferred %s, want %s", raw, wantSchema)
	}
}

// TestInferredSchemaForeach: a foreach step gives an array of its
// selected answers; without a document the schema is any.
func TestInferredSchemaForeach(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.MkdirAll(dir+"/openapi", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir+"/"+name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shop, err := os.ReadFile("testdata/openapi_warnings/openapi/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write("openapi/shop.yaml", string(shop))
	write("gateway.yaml", "upstreams:\n  shop: {url: http://shop.test, openapi: openapi/shop.yaml}\n  other: {url: http://other.test}\n")
	write("each.yaml", `name: each
path: /each
steps:
  cats:
    upstream: other
    path: /cats
  items:
    upstream: shop
    needs: [cats]
    foreach: .cats
    path: /items
    query: {category: "${ .item }"}
    select: .items[0].id
`)
	plan, err := LoadDir(dir, LoadOptions{LookupEnv: lookupTestEnv})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(plan.Pipeline("each").InferredSchema())
	want := `{"properties":{"cats":{},"items":{"items":{"type":["string","null"]},"type":"array"}},"type":"object"}`
	if string(raw) != want {
		t.Errorf("inferred %s, want %s", raw, want)
	}
}

// TestInferredSchemaOutputs: an expression with several outputs gives an
// array of them and one with none gives null, so its schema is not the
// schema of one output.
func TestInferredSchemaOutputs(t *testing.T) {
	dir := t.TempDir()
	shop, err := os.ReadFile("testdata/openapi_warnings/openapi/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"openapi/shop.yaml": string(shop),
		"gateway.yaml":      "upstreams:\n  shop: {url: http://shop.test, openapi: openapi/shop.yaml}\n",
		"many.yaml":         "name: many\npath: /many\nsteps:\n  items: {upstream: shop, path: /items, query: {category: food}}\noutput: .items.items[].id\n",
		"one.yaml":          "name: one\npath: /one\nsteps:\n  items: {upstream: shop, path: /items, query: {category: food}}\noutput: '{ids: [.items.items[].id]}'\n",
		"param.yaml": "name: param\npath: /param\nparams:\n  limit: {in: query, type: integer}\n  page: {in: query, type: integer, default: 1}\n" +
			"steps:\n  items: {upstream: shop, path: /items, query: {category: food}}\noutput: '{limit: .params.limit, page: .params.page}'\n",
	}
	if err := os.MkdirAll(dir+"/openapi", 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(dir+"/"+name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := LoadDir(dir, LoadOptions{LookupEnv: lookupTestEnv})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"many":  `{}`,                                                                                             // a string, null or an array of them
		"param": `{"properties":{"limit":{"type":["integer","null"]},"page":{"type":"integer"}},"type":"object"}`, // an absent limit is null
		"one":   `{"properties":{"ids":{"items":{"type":["string","null"]},"type":"array"}},"type":"object"}`,
	} {
		raw, _ := json.Marshal(plan.Pipeline(name).InferredSchema())
		if string(raw) != want {
			t.Errorf("%s: inferred %s, want %s", name, raw, want)
		}
	}
}
