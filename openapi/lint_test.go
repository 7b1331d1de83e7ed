package openapi

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestLintWarnings: what a valid directory can still get wrong for GPT
// Actions is reported as warnings, naming the file and key.
func TestLintWarnings(t *testing.T) {
	noSchema := "name: bare\nsummary: No schema\npath: /bare\nsteps:\n  s: {upstream: api, path: /}\n"
	locked := "name: locked\nsummary: Needs a role\npath: /locked\naccess: {roles: [reader]}\nsteps:\n  s: {upstream: api, path: /}\nresponse: {schema: {type: object}}\n"
	cases := []struct {
		name, publicURL string
		files           map[string]string
		want            []string // "file-suffix key: message fragment"
	}{
		{"http public URL", "http://deals.example.com", map[string]string{"h.yaml": publicPipeline},
			[]string{`gateway.yaml server.public_url: "http://deals.example.com" is not https`}},
		{"loopback public URL", "https://127.0.0.1:9443", map[string]string{"h.yaml": publicPipeline},
			[]string{`gateway.yaml server.public_url: "https://127.0.0.1:9443" is a loopback address`}},
		{"response without schema", "https://deals.example.com", map[string]string{"bare.yaml": noSchema},
			[]string{"bare.yaml bare: response.schema: the 200 answer has no schema"}},
		{"protected pipeline, no auth", "https://deals.example.com", map[string]string{"locked.yaml": locked},
			[]string{"locked.yaml locked: access: the pipeline is not public but gateway.yaml configures no auth"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{"gateway.yaml": "server: {public_url: \"" + c.publicURL + "\"}\nupstreams:\n  api: {url: \"http://127.0.0.1:1\"}\n" + completePlugin}
			for k, v := range c.files {
				files[k] = v
			}
			sp := generate(t, planOf(t, files))
			var got []string
			for _, f := range sp.Findings {
				if f.Severity != SeverityWarning {
					t.Errorf("finding %v is not a warning", f)
				}
				got = append(got, f.File+" "+f.Key+": "+f.Msg)
			}
			if len(got) != len(c.want) {
				t.Fatalf("findings %q, want %d: %q", got, len(c.want), c.want)
			}
			for i, w := range c.want {
				file, rest, _ := strings.Cut(w, " ")
				if !strings.HasSuffix(strings.SplitN(got[i], " ", 2)[0], file) || !strings.Contains(got[i], rest) {
					t.Errorf("finding %q, want %q", got[i], w)
				}
			}
		})
	}
}

const completePlugin = `plugin:
  name_for_human: Deals
  name_for_model: deals
  description_for_human: Grocery deals.
  description_for_model: Finds grocery deals.
  contact_email: team@example.com
  legal_info_url: https://example.com/legal
  logo_url: https://example.com/logo.png
`

// TestLintErrors: the rules GPT Actions enforce are errors; the loader
// already keeps pipelines within them, so they are shown on a document
// changed by hand.
func TestLintErrors(t *testing.T) {
	plan := planOf(t, map[string]string{
		"gateway.yaml": gatewayWith(jwtAuth) + completePlugin,
		"deals.yaml":   readerPipeline,
		"health.yaml":  publicPipeline,
	})
	cases := []struct {
		name   string
		change func(doc *openapi3.T)
		want   string
	}{
		{"long summary", func(doc *openapi3.T) { doc.Paths.Value("/v1/deals").Get.Summary = strings.Repeat("x", 301) },
			"deals: summary: 301 characters is too long: GPT Actions accept at most 300"},
		{"long description", func(doc *openapi3.T) { doc.Paths.Value("/v1/deals").Get.Description = strings.Repeat("é", 301) },
			"deals: description: 301 characters is too long"},
		{"long parameter description", func(doc *openapi3.T) {
			doc.Paths.Value("/v1/deals").Get.Parameters = openapi3.Parameters{{Value: &openapi3.Parameter{Name: "q", In: "query", Description: strings.Repeat("x", 701)}}}
		}, "deals: params.q.description: 701 characters is too long: GPT Actions accept at most 700"},
		{"duplicate operationId", func(doc *openapi3.T) { doc.Paths.Value("/v1/health").Get.OperationID = "deals" },
			`operationId "deals" is also used by`},
		{"two auth types", func(doc *openapi3.T) {
			doc.Components.SecuritySchemes["key"] = &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{Type: "apiKey", In: "header", Name: "X-Key"}}
			*doc.Paths.Value("/v1/deals").Get.Security = append(*doc.Paths.Value("/v1/deals").Get.Security, openapi3.SecurityRequirement{"key": {}})
		}, "deals: access: the operation accepts 2 auth types"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Generate(plan)
			if err != nil {
				t.Fatal(err)
			}
			c.change(doc)
			var errs []string
			for _, f := range Errors(Lint(plan, doc)) {
				errs = append(errs, f.Key+": "+f.Msg)
			}
			if len(errs) != 1 || !strings.Contains(errs[0], c.want) {
				t.Errorf("lint errors %q, want one containing %q", errs, c.want)
			}
		})
	}
}
