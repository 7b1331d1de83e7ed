package mcpserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// tool is a pipeline as an MCP tool: the definition clients list and what
// a call of it needs.
type tool struct {
	p   *pipeline.Compiled
	def *mcp.Tool
	// bodyKey is the argument that carries the JSON request body of a
	// non-GET pipeline ("body" unless a parameter has that name); "" for
	// GET pipelines.
	bodyKey string
	// wrap is set when the declared answer is not an object: MCP wants an
	// object as structured content, so the answer goes under "result".
	wrap bool
}

// newTool describes p as a tool. Its arguments are checked against p's
// OpenAPI operation, as a REST request is (see Surface.input).
func newTool(p *pipeline.Compiled) (*tool, error) {
	t := &tool{p: p, bodyKey: bodyKey(p)}
	in, err := json.Marshal(inputSchema(p, t.bodyKey))
	if err != nil {
		return nil, fmt.Errorf("tool %s: input schema: %w", p.Name, err)
	}
	t.def = &mcp.Tool{
		Name:        p.Name,
		Title:       p.Summary,
		Description: description(p),
		InputSchema: json.RawMessage(in),
		Annotations: annotations(p.Method, p.Summary),
	}
	declared := map[string]any(nil)
	if p.Response != nil {
		declared = p.Response.Schema
	}
	if len(declared) == 0 {
		declared = p.InferredSchema() // {} when nothing is known
	}
	if len(declared) > 0 {
		var out any = declared
		if !isObjectSchema(declared) {
			t.wrap = true
			out = object{{"type", "object"}, {"properties", object{{"result", declared}}}, {"required", []string{"result"}}}
		}
		raw, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("tool %s: output schema: %w", p.Name, err)
		}
		t.def.OutputSchema = json.RawMessage(raw)
	}
	return t, nil
}

func description(p *pipeline.Compiled) string {
	if d := strings.TrimSpace(p.Description); d != "" {
		return d
	}
	return strings.TrimSpace(p.Summary)
}

// bodyKey names the body argument so that it cannot shadow a parameter.
func bodyKey(p *pipeline.Compiled) string {
	if p.Method == http.MethodGet {
		return ""
	}
	for _, k := range []string{"body", "request_body"} {
		if _, taken := p.Params[k]; !taken {
			return k
		}
	}
	return "_body" // not a valid parameter name, so never taken
}

// annotations derive the behaviour hints from the HTTP method: GET only
// reads; PUT, PATCH and DELETE change or remove what exists; GET, PUT and
// DELETE may be repeated (RFC 9110, section 9.2.2). Every pipeline calls
// backends outside the gateway, so the world is open.
func annotations(method, title string) *mcp.ToolAnnotations {
	destructive := method == http.MethodPut || method == http.MethodPatch || method == http.MethodDelete
	open := true
	return &mcp.ToolAnnotations{
		Title:           title,
		ReadOnlyHint:    method == http.MethodGet,
		DestructiveHint: &destructive,
		IdempotentHint:  method == http.MethodGet || method == http.MethodPut || method == http.MethodDelete,
		OpenWorldHint:   &open,
	}
}

// inputSchema is the JSON Schema (2020-12) of a tool's arguments: one
// property per parameter, in the order they were written, plus the body.
func inputSchema(p *pipeline.Compiled, bodyKey string) object {
	props := object{}
	var required []string
	for _, name := range p.ParamOrder {
		prm := p.Params[name]
		props = append(props, member{name, paramSchema(prm)})
		if prm.IsRequired() {
			required = append(required, name)
		}
	}
	if bodyKey != "" {
		props = append(props, member{bodyKey, bodySchema(p)})
		if p.Body != nil {
			required = append(required, bodyKey)
		}
	}
	s := object{{"type", "object"}, {"properties", props}}
	if len(required) > 0 {
		s = append(s, member{"required", required})
	}
	// Unknown arguments are refused, so a model learns at once that it
	// made one up.
	return append(s, member{"additionalProperties", false})
}

func paramSchema(p *pipeline.Param) object {
	s := object{{"type", p.Type}}
	add := func(key string, v any, present bool) {
		if present {
			s = append(s, member{key, v})
		}
	}
	add("description", p.Description, p.Description != "")
	if it := p.ItemParam(); it != nil {
		// An array: a JSON list of its items, whatever its wire form.
		add("items", paramSchema(it), true)
		add("default", p.Default, p.Default != nil)
		if p.MinItems != nil {
			add("minItems", *p.MinItems, true)
		}
		if p.MaxItems != nil {
			add("maxItems", *p.MaxItems, true)
		}
		add("examples", []any{p.Example}, p.Example != nil)
		return s
	}
	add("enum", p.Enum, len(p.Enum) > 0)
	add("default", p.Default, p.Default != nil)
	if p.Minimum != nil {
		add("minimum", *p.Minimum, true)
	}
	if p.Maximum != nil {
		add("maximum", *p.Maximum, true)
	}
	if p.MinLength != nil {
		add("minLength", *p.MinLength, true)
	}
	if p.MaxLength != nil {
		add("maxLength", *p.MaxLength, true)
	}
	add("pattern", p.Pattern, p.Pattern != "")
	add("format", p.Format, p.Format != "")
	add("examples", []any{p.Example}, p.Example != nil)
	return s
}

func bodySchema(p *pipeline.Compiled) map[string]any {
	if p.Body == nil {
		return map[string]any{"description": "JSON request body (optional)"}
	}
	s := maps.Clone(p.Body.Schema)
	if s == nil {
		s = map[string]any{}
	}
	if _, ok := s["description"]; !ok && p.Body.Description != "" {
		s["description"] = p.Body.Description
	}
	return s
}

// isObjectSchema reports whether a schema describes a JSON object.
func isObjectSchema(s map[string]any) bool {
	if t, ok := s["type"]; ok {
		return t == "object"
	}
	_, props := s["properties"]
	return props
}

// object is a JSON object that keeps its members in order, so that a
// tool's properties are listed as the pipeline's author wrote them.
type object []member

type member struct {
	key   string
	value any
}

// MarshalJSON implements json.Marshaler.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
