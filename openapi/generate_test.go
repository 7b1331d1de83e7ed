package openapi

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

const (
	readerPipeline = `
name: deals
summary: Deals of the day
path: /v1/deals
access: {roles: [reader]}
steps:
  s: {upstream: api, path: /deals}
response: {description: Deals, schema: {type: object}}
`
	publicPipeline = `
name: health
summary: Is the backend up
path: /v1/health
access: public
steps:
  s: {upstream: api, path: /health}
response: {description: Status, schema: {type: object}}
`
	jwtAuth   = `jwt: {issuer: "https://id.example.com/", audience: manifold, jwks_url: "https://id.example.com/jwks"}`
	oauthAuth = `oauth: {authorization_url: "https://id.example.com/authorize", token_url: "https://id.example.com/token", scopes: {reader: Read deals, buyer: Place orders}}`
	consumer  = "consumers:\n  bot: {key_sha256: 8254c329a92850f6d539dd376f4816ee2764517da5e0235514af433164480d7a, roles: [reader]}\n"
)

func gatewayWith(auth string) string {
	gw := "upstreams:\n  api: {url: \"http://127.0.0.1:1\"}\n"
	if auth != "" {
		gw += "auth:\n  " + strings.ReplaceAll(auth, "\n", "\n  ") + "\n"
	}
	return gw
}

// TestSecurity: the configured auth becomes one security scheme, required
// by protected operations only, and the manifest's auth agrees.
func TestSecurity(t *testing.T) {
	cases := []struct {
		name, gateway string
		scheme        *openapi3.SecurityScheme // nil: no securitySchemes
		scopes        []string
		manifest      string
	}{
		{"no auth", gatewayWith(""), nil, nil, `{"type":"none"}`},
		{"api key", gatewayWith("api_key: {header: X-Key}"),
			&openapi3.SecurityScheme{Type: "apiKey", In: "header", Name: "X-Key"}, []string{}, `{"type":"service_http","authorization_type":"bearer"}`},
		{"consumers alone enable keys", gatewayWith("") + consumer,
			&openapi3.SecurityScheme{Type: "apiKey", In: "header", Name: "X-API-Key"}, []string{}, `{"type":"service_http","authorization_type":"bearer"}`},
		{"jwt", gatewayWith(jwtAuth),
			&openapi3.SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: "JWT"}, []string{}, `{"type":"user_http","authorization_type":"bearer"}`},
		{"jwt and keys: one bearer scheme", gatewayWith(jwtAuth) + consumer,
			&openapi3.SecurityScheme{Type: "http", Scheme: "bearer"}, []string{}, `{"type":"service_http","authorization_type":"bearer"}`},
		{"oauth", gatewayWith(jwtAuth + "\n" + oauthAuth),
			&openapi3.SecurityScheme{Type: "oauth2"}, []string{"reader"},
			`{"type":"oauth","client_url":"https://id.example.com/authorize","authorization_url":"https://id.example.com/token","scope":"buyer reader","authorization_content_type":"application/x-www-form-urlencoded"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp := generate(t, planOf(t, map[string]string{"gateway.yaml": c.gateway, "deals.yaml": readerPipeline, "health.yaml": publicPipeline}))
			doc := sp.Doc
			schemes := doc.Components.SecuritySchemes
			deals := doc.Paths.Value("/v1/deals").Get
			health := doc.Paths.Value("/v1/health").Get
			if health.Security == nil || len(*health.Security) != 0 {
				t.Errorf("public operation: security %v, want []", health.Security)
			}
			if health.Responses.Value("401") != nil || health.Responses.Value("403") != nil {
				t.Error("a public operation documents 401/403")
			}
			if c.scheme == nil {
				if len(schemes) != 0 || len(*deals.Security) != 0 {
					t.Errorf("no auth configured, yet schemes %v and security %v", schemes, *deals.Security)
				}
			} else {
				if len(schemes) != 1 {
					t.Fatalf("%d security schemes, want 1 (GPT Actions take one auth type)", len(schemes))
				}
				for name, ref := range schemes {
					got := ref.Value
					if got.Type != c.scheme.Type || got.In != c.scheme.In || got.Name != c.scheme.Name || got.Scheme != c.scheme.Scheme || got.BearerFormat != c.scheme.BearerFormat {
						t.Errorf("scheme %s = %+v, want %+v", name, got, c.scheme)
					}
					if got.Type == "oauth2" && (got.Flows == nil || got.Flows.AuthorizationCode == nil || got.Flows.AuthorizationCode.TokenURL != "https://id.example.com/token") {
						t.Errorf("oauth2 flows %+v", got.Flows)
					}
					want := openapi3.SecurityRequirements{{name: c.scopes}}
					if deals.Security == nil || !equalJSON(*deals.Security, want) {
						t.Errorf("protected operation: security %v, want %v", deals.Security, want)
					}
				}
				if deals.Responses.Value("401") == nil || deals.Responses.Value("403") == nil {
					t.Error("a protected operation lacks 401 and 403")
				}
			}
			var m Manifest
			if err := json.Unmarshal(sp.Manifest, &m); err != nil {
				t.Fatal(err)
			}
			if got, _ := json.Marshal(m.Auth); string(got) != c.manifest {
				t.Errorf("manifest auth %s, want %s", got, c.manifest)
			}
		})
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestOperation: what one pipeline becomes.
func TestOperation(t *testing.T) {
	sp := generate(t, planOf(t, map[string]string{
		"order.yaml": `
name: placeOrder
summary: Place an order
description: Orders products. Call it only when the user confirmed.
method: POST
path: /v1/shops/{shop}/orders
params:
  shop: {in: path, type: string, pattern: "^[a-z]+$", example: berlin}
  dry_run: {in: query, type: boolean, default: false, description: Only check the order}
  Tenant: {in: header, type: string, required: true, enum: [a, b]}
body:
  description: The order
  schema:
    type: object
    required: [sku]
    properties:
      sku: {type: string, example: p1}
      note: {type: string, nullable: true}
      qty: {type: integer, minimum: 0, exclusiveMinimum: true}
steps:
  s: {upstream: api, method: POST, path: /orders, body: "${ .body }", optional: true}
response:
  description: The order as placed
  schema: {type: object, properties: {id: {type: string}}}
`,
	}))
	op := sp.Doc.Paths.Value("/v1/shops/{shop}/orders").Post
	if op == nil {
		t.Fatal("no POST /v1/shops/{shop}/orders")
	}
	if op.OperationID != "placeOrder" || op.Summary != "Place an order" || !strings.HasPrefix(op.Description, "Orders products.") || !slices.Equal(op.Tags, []string{"shops"}) {
		t.Errorf("operation %q %q %q %v", op.OperationID, op.Summary, op.Description, op.Tags)
	}
	if op.Extensions["x-openai-isConsequential"] != true {
		t.Errorf("a POST is not marked x-openai-isConsequential: %v", op.Extensions)
	}
	params := map[string]*openapi3.Parameter{}
	for _, ref := range op.Parameters {
		params[ref.Value.Name] = ref.Value
	}
	if p := params["shop"]; p == nil || p.In != "path" || !p.Required || p.Schema.Value.Pattern != "^[a-z]+$" || p.Example != "berlin" {
		t.Errorf("path parameter %+v", p)
	}
	if p := params["dry_run"]; p == nil || p.Required || p.Schema.Value.Default != false || !p.Schema.Value.Type.Is("boolean") || p.Description != "Only check the order" {
		t.Errorf("query parameter %+v", p)
	}
	if p := params["Tenant"]; p == nil || p.In != "header" || !p.Required || len(p.Schema.Value.Enum) != 2 {
		t.Errorf("header parameter %+v", p)
	}
	body := op.RequestBody.Value
	schema := body.Content.Get("application/json").Schema.Value
	if !body.Required || body.Description != "The order" {
		t.Errorf("request body required %v, description %q", body.Required, body.Description)
	}
	// OpenAPI 3.0 idioms in a pipeline's schema come out as 3.1.
	if note := schema.Properties["note"].Value; note.Nullable || !slices.Equal(*note.Type, []string{"string", "null"}) {
		t.Errorf("nullable: type %v, nullable %v; want [string null]", *note.Type, note.Nullable)
	}
	if sku := schema.Properties["sku"].Value; sku.Example != nil || !slices.Equal(sku.Examples, []any{"p1"}) {
		t.Errorf("example: %v, examples %v; want examples [p1]", sku.Example, sku.Examples)
	}
	if qty := schema.Properties["qty"].Value; qty.Min != nil || qty.ExclusiveMin.Value == nil || *qty.ExclusiveMin.Value != 0 {
		t.Errorf("exclusiveMinimum: minimum %v, exclusiveMinimum %+v; want exclusiveMinimum 0", qty.Min, qty.ExclusiveMin)
	}
	ok := op.Responses.Value("200").Value
	if *ok.Description != "The order as placed" || ok.Content.Get("application/json").Schema == nil || ok.Headers[HeaderIncomplete] == nil {
		t.Errorf("200 answer %+v", ok)
	}
	for _, code := range []string{"400", "404", "413", "415", "429", "502", "504"} {
		if r := op.Responses.Value(code); r == nil || r.Ref != "#/components/responses/"+problemName(code) {
			t.Errorf("response %s: %+v", code, r)
		}
	}
	if !strings.Contains(string(sp.YAML), "\n      x-openai-isConsequential: true\n") {
		t.Error("the YAML does not carry x-openai-isConsequential")
	}
}

func problemName(code string) string {
	for _, r := range problemResponses {
		if strconv.Itoa(r.status) == code {
			return r.name
		}
	}
	return ""
}

// TestInfoAndServers: info comes from the plugin section, servers from
// server.public_url.
func TestInfoAndServers(t *testing.T) {
	sp := generate(t, planOf(t, map[string]string{
		"gateway.yaml": `
server: {public_url: "https://deals.example.com/"}
upstreams:
  api: {url: "http://127.0.0.1:1"}
plugin:
  name_for_human: Deals
  name_for_model: deals
  description_for_human: Grocery deals.
  description_for_model: Finds grocery deals.
  contact_email: team@example.com
  legal_info_url: https://example.com/legal
  logo_url: https://example.com/logo.png
`,
		"health.yaml": publicPipeline,
	}))
	in := sp.Doc.Info
	if in.Title != "Deals" || in.Summary != "Grocery deals." || in.Description != "Finds grocery deals." || in.Contact.Email != "team@example.com" || in.TermsOfService != "https://example.com/legal" || in.Version == "" {
		t.Errorf("info %+v", in)
	}
	if len(sp.Doc.Servers) != 1 || sp.Doc.Servers[0].URL != "https://deals.example.com" {
		t.Errorf("servers %v, want https://deals.example.com", sp.Doc.Servers)
	}
	var m Manifest
	_ = json.Unmarshal(sp.Manifest, &m)
	want := Manifest{SchemaVersion: "v1", NameForHuman: "Deals", NameForModel: "deals", DescriptionForHuman: "Grocery deals.",
		DescriptionForModel: "Finds grocery deals.", Auth: ManifestAuth{Type: "none"},
		API: ManifestAPI{Type: "openapi", URL: "https://deals.example.com/openapi.yaml"}, LogoURL: "https://example.com/logo.png",
		ContactEmail: "team@example.com", LegalInfoURL: "https://example.com/legal"}
	if m != want {
		t.Errorf("manifest\n got %+v\nwant %+v", m, want)
	}
	if w := Lint(sp.Plan, sp.Doc); len(w) != 0 {
		t.Errorf("a complete https gateway still has lint findings: %v", w)
	}
}

// TestBadSchema: a response schema that is not a JSON Schema is an error
// naming the pipeline, not a broken document.
func TestBadSchema(t *testing.T) {
	plan := planOf(t, map[string]string{"bad.yaml": `
name: bad
path: /bad
steps:
  s: {upstream: api, path: /}
response: {schema: {type: object, properties: {a: {type: 5}}}}
`})
	_, err := Build(plan)
	var ge *Error
	if !errors.As(err, &ge) || ge.Pipeline != "bad" || ge.Key != "response.schema" {
		t.Fatalf("Build: %v, want an *openapi.Error naming pipeline bad and response.schema", err)
	}
}

// TestNoSecrets: nothing of the configuration that is not meant for
// clients reaches the documents: upstreams, their headers, keys,
// consumers, token checks.
func TestNoSecrets(t *testing.T) {
	secrets := []string{"upstream-token-123", "admin-key-456-0123456789abcdef", "introspect-secret-789", "backend.internal", "8254c329a92850f6d539dd376f4816ee2764517da5e0235514af433164480d7a", "jwks.internal"}
	sp := generate(t, planOf(t, map[string]string{
		"gateway.yaml": `
admin: {key: admin-key-456-0123456789abcdef}
upstreams:
  api: {url: "https://backend.internal:8443", headers: {Authorization: "Bearer upstream-token-123"}}
auth:
  jwt: {issuer: "https://id.example.com/", audience: manifold, jwks_url: "https://jwks.internal/keys"}
  introspection: {url: "https://id.example.com/introspect", client_id: gw, client_secret: introspect-secret-789}
consumers:
  bot: {key_sha256: 8254c329a92850f6d539dd376f4816ee2764517da5e0235514af433164480d7a, roles: [reader]}
`,
		"deals.yaml": readerPipeline,
	}))
	for _, doc := range [][]byte{sp.JSON, sp.YAML, sp.Manifest} {
		for _, s := range secrets {
			if strings.Contains(string(doc), s) {
				t.Errorf("a document shows %q", s)
			}
		}
	}
}
