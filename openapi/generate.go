package openapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Version is the OpenAPI version of the generated documents.
const Version = "3.1.0"

// APIVersion is info.version of the generated documents: gateway.yaml has
// no version of its own, and the document's ETag tells revisions apart.
const APIVersion = "1.0.0"

// Headers the gateway adds to answers, documented on the operations that
// can send them.
const (
	HeaderIncomplete = "Manifold-Incomplete"
	HeaderStale      = "Manifold-Stale"
)

// Error is a pipeline whose contract cannot be written as OpenAPI, such as
// a response schema that is not a JSON Schema.
type Error struct {
	File     string
	Pipeline string
	Key      string // "response.schema", "body.schema", or "" for the whole document
	Err      error
}

func (e *Error) Error() string {
	where := e.File
	if e.Pipeline != "" {
		where += ": pipeline " + e.Pipeline
	}
	if e.Key != "" {
		where += ": " + e.Key
	}
	return fmt.Sprintf("%s: %v", where, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Generate builds the OpenAPI 3.1 document of plan: info from the plugin
// section, servers from server.public_url, one operation per pipeline
// (operationId = pipeline name), problem responses and the security scheme
// as shared components. The document is checked with kin-openapi's
// validator; an invalid one is an error.
func Generate(plan *pipeline.Plan) (*openapi3.T, error) {
	gw := plan.Gateway
	sec := securityOf(gw)
	doc := &openapi3.T{
		OpenAPI: Version,
		Info:    info(gw),
		Servers: openapi3.Servers{{URL: gw.Server.PublicURL}},
		Paths:   openapi3.NewPaths(),
	}
	used := map[int]bool{}
	tags := map[string]bool{}
	for _, p := range plan.Pipelines {
		op, err := operation(p, sec)
		if err != nil {
			return nil, err
		}
		for _, code := range op.Responses.Keys() {
			var status int
			if _, err := fmt.Sscan(code, &status); err == nil {
				used[status] = true
			}
		}
		tags[op.Tags[0]] = true
		item := doc.Paths.Value(p.Path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(p.Path, item)
		}
		item.SetOperation(p.Method, op)
	}
	for _, t := range sortedKeys(tags) {
		doc.Tags = append(doc.Tags, &openapi3.Tag{Name: t, Description: "Operations on " + t + "."})
	}
	doc.Components = components(sec, used)
	loaded, err := reload(doc)
	if err != nil {
		return nil, &Error{File: plan.Dir, Err: fmt.Errorf("the generated OpenAPI document is invalid: %w", err)}
	}
	return loaded, nil
}

// reload writes doc and reads it back with kin-openapi's loader, which
// resolves the $refs to shared components, then validates it: what is
// served, linted and used to check requests is exactly what was written.
func reload(doc *openapi3.T) (*openapi3.T, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	loaded, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, err
	}
	if err := loaded.Validate(context.Background(), validationOptions()...); err != nil {
		return nil, err
	}
	return loaded, nil
}

// validationOptions are the kin-openapi checks a generated or imported
// document must pass.
func validationOptions() []openapi3.ValidationOption {
	return []openapi3.ValidationOption{openapi3.EnableSchemaPatternValidation()}
}

func info(gw *gateway.Config) *openapi3.Info {
	pl := gw.Plugin
	in := &openapi3.Info{
		Title:          pl.NameForHuman,
		Summary:        strings.TrimSpace(pl.DescriptionForHuman),
		Description:    strings.TrimSpace(pl.DescriptionForModel),
		Version:        APIVersion,
		TermsOfService: gw.LegalInfoURL(),
	}
	if in.Title == "" {
		in.Title = "Manifold gateway"
	}
	if pl.ContactEmail != "" {
		in.Contact = &openapi3.Contact{Email: pl.ContactEmail}
	}
	if logo := gw.LogoURL(); logo != "" {
		in.Extensions = map[string]any{"x-logo": map[string]any{"url": logo}}
	}
	return in
}

// operation describes one pipeline.
func operation(p *pipeline.Compiled, sec security) (*openapi3.Operation, error) {
	op := &openapi3.Operation{
		OperationID: p.Name,
		Summary:     strings.TrimSpace(p.Summary),
		Description: strings.TrimSpace(p.Description),
		Tags:        []string{tagOf(p.Path)},
		Security:    sec.requirement(p),
	}
	for _, name := range p.ParamOrder {
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: parameter(name, p.Params[name])})
	}
	if p.Method != http.MethodGet {
		op.Extensions = map[string]any{"x-openai-isConsequential": true}
	}
	body, err := requestBody(p)
	if err != nil {
		return nil, err
	}
	if body != nil {
		op.RequestBody = &openapi3.RequestBodyRef{Value: body}
	}
	ok, err := success(p)
	if err != nil {
		return nil, err
	}
	op.Responses = openapi3.NewResponses(openapi3.WithStatus(http.StatusOK, &openapi3.ResponseRef{Value: ok}))
	for _, status := range errorStatuses(p, sec) {
		op.Responses.Set(fmt.Sprint(status), problemRef(status))
	}
	return op, nil
}

// requestBody describes the JSON body of a non-GET pipeline: required
// with `body:` (its schema, or any JSON value), optional without it (the
// gateway still reads a JSON body and shows it to expressions as .body).
func requestBody(p *pipeline.Compiled) (*openapi3.RequestBody, error) {
	if p.Method == http.MethodGet {
		return nil, nil
	}
	if p.Body == nil {
		return &openapi3.RequestBody{
			Description: "An optional JSON value.",
			Content:     openapi3.NewContentWithJSONSchema(&openapi3.Schema{}),
		}, nil
	}
	schema, err := schemaFrom(p.Body.Schema)
	if err != nil {
		return nil, &Error{File: p.File, Pipeline: p.Name, Key: "body.schema", Err: err}
	}
	if schema == nil {
		schema = &openapi3.Schema{} // any JSON value
	}
	return &openapi3.RequestBody{
		Description: strings.TrimSpace(p.Body.Description),
		Required:    true,
		Content:     openapi3.NewContentWithJSONSchema(schema),
	}, nil
}

// parameter describes one pipeline parameter: its wire name, its type
// and every constraint the gateway enforces. A parameter whose wire name
// differs from the name expressions, GraphQL and MCP use says that name
// in x-manifold-param.
func parameter(name string, p *pipeline.Param) *openapi3.Parameter {
	out := &openapi3.Parameter{
		Name:        p.WireName(name),
		In:          p.In,
		Description: strings.TrimSpace(p.Description),
		Required:    p.IsRequired(),
		Schema:      openapi3.NewSchemaRef("", paramSchema(p)),
		Example:     p.Example,
	}
	ext := map[string]any{}
	if p.AllowSlashes {
		// A path tail: "/" is accepted, dot and empty segments are not.
		ext["x-manifold-allow-slashes"] = true
	}
	if out.Name != name {
		ext["x-manifold-param"] = name
	}
	if p.Type == "array" {
		explode := p.Exploded()
		out.Style, out.Explode = p.Style, &explode
	}
	if len(ext) > 0 {
		out.Extensions = ext
	}
	return out
}

// paramSchema is the JSON Schema of a parameter's value; an array's
// items get their own.
func paramSchema(p *pipeline.Param) *openapi3.Schema {
	if it := p.ItemParam(); it != nil {
		s := &openapi3.Schema{Type: &openapi3.Types{"array"}, Items: openapi3.NewSchemaRef("", paramSchema(it)), Default: p.Default}
		if p.MinItems != nil {
			s.MinItems = uint64(*p.MinItems)
		}
		if p.MaxItems != nil {
			n := uint64(*p.MaxItems)
			s.MaxItems = &n
		}
		return s
	}
	s := &openapi3.Schema{
		Type:    &openapi3.Types{p.Type},
		Default: p.Default,
		Enum:    p.Enum,
		Min:     p.Minimum,
		Max:     p.Maximum,
		Pattern: p.Pattern,
		Format:  p.Format,
	}
	if p.MinLength != nil {
		s.MinLength = uint64(*p.MinLength)
	}
	if p.MaxLength != nil {
		n := uint64(*p.MaxLength)
		s.MaxLength = &n
	}
	return s
}

// success is the 200 answer: response.schema, and the headers that mark
// partial or stale answers when the pipeline can send them.
func success(p *pipeline.Compiled) (*openapi3.Response, error) {
	desc := "The answer."
	var schema *openapi3.Schema
	if r := p.Response; r != nil {
		if d := strings.TrimSpace(r.Description); d != "" {
			desc = d
		}
		s, err := schemaFrom(r.Schema)
		if err != nil {
			return nil, &Error{File: p.File, Pipeline: p.Name, Key: "response.schema", Err: err}
		}
		schema = s
	}
	if inferred := p.InferredSchema(); (p.Response == nil || len(p.Response.Schema) == 0) && len(inferred) > 0 {
		// Without response.schema, the one inferred from the upstreams'
		// documents (none when nothing is known).
		s, err := schemaFrom(inferred)
		if err != nil {
			return nil, &Error{File: p.File, Pipeline: p.Name, Key: "output", Err: fmt.Errorf("inferred schema: %w", err)}
		}
		schema = s
	}
	resp := &openapi3.Response{Description: &desc, Content: openapi3.Content{"application/json": &openapi3.MediaType{}}}
	if schema != nil {
		resp.Content["application/json"].Schema = openapi3.NewSchemaRef("", schema)
	}
	var optional, cached []string
	for _, name := range p.StepOrder {
		s := p.Steps[name]
		if s.Optional {
			optional = append(optional, name)
		}
		if s.Cache > 0 {
			cached = append(cached, name)
		}
	}
	if len(optional) > 0 {
		resp.Headers = openapi3.Headers{HeaderIncomplete: stringHeader(
			"Set when optional steps failed and the answer lacks their part: the failed steps, comma-separated (of " + strings.Join(optional, ", ") + ").")}
	}
	if len(cached) > 0 {
		if resp.Headers == nil {
			resp.Headers = openapi3.Headers{}
		}
		resp.Headers[HeaderStale] = stringHeader(
			"Set when a backend failed and a step's last good answer was served instead: the stale steps (of " + strings.Join(cached, ", ") + ").")
	}
	return resp, nil
}

func stringHeader(desc string) *openapi3.HeaderRef {
	return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
		Description: desc,
		Schema:      openapi3.NewSchemaRef("", openapi3.NewStringSchema()),
	}}}
}

// errorStatuses lists the problem answers an operation can give.
func errorStatuses(p *pipeline.Compiled, sec security) []int {
	out := []int{http.StatusBadRequest, http.StatusNotFound, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusGatewayTimeout}
	if !isPublic(p) && sec.name != "" {
		out = append(out, http.StatusUnauthorized, http.StatusForbidden)
	}
	if p.Method != http.MethodGet {
		out = append(out, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	slices.Sort(out)
	return out
}
