package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goccy/go-yaml"
)

// Formats Marshal writes.
const (
	FormatJSON = "json"
	FormatYAML = "yaml"
)

// Marshal writes doc as JSON (compact) or YAML with a stable key order: the fields
// of each OpenAPI object in the order the specification lists them (openapi,
// info, servers, tags, paths, components; summary, description,
// operationId, parameters, responses, ...), names (paths, properties,
// status codes) sorted. The same document always gives the same bytes.
func Marshal(doc *openapi3.T, format string) ([]byte, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: marshal: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("openapi: marshal: %w", err)
	}
	v := arrange(tree, fields)
	switch format {
	case FormatJSON:
		var buf bytes.Buffer
		writeJSON(&buf, v)
		buf.WriteByte('\n')
		return buf.Bytes(), nil
	case FormatYAML:
		out, err := yaml.MarshalWithOptions(toYAML(v), yaml.Indent(2), yaml.IndentSequence(true), yaml.UseLiteralStyleIfMultiline(true))
		if err != nil {
			return nil, fmt.Errorf("openapi: marshal yaml: %w", err)
		}
		return out, nil
	}
	return nil, fmt.Errorf("openapi: unknown format %q: want json or yaml", format)
}

// object is a JSON object with its keys in the order to write them.
type object struct {
	keys []string
	vals map[string]any
}

// What the keys of a JSON object are: an OpenAPI or Schema object's
// fields, names chosen by the author (paths, properties, status codes),
// or plain data (defaults, examples, extensions).
type keyKind int

const (
	fields keyKind = iota
	names
	data
)

// fieldOrder is the order of the fields of OpenAPI objects, as the
// specification lists them; unknown fields and extensions come after, by
// name.
var fieldOrder = rank(
	"openapi", "info", "jsonSchemaDialect", "servers", "tags",
	"$ref", "type", "name", "in", "title", "summary", "description", "operationId",
	"version", "termsOfService", "contact", "license", "email", "url",
	"scheme", "bearerFormat", "flows", "authorizationUrl", "tokenUrl", "refreshUrl", "scopes", "openIdConnectUrl",
	"required", "deprecated", "allowEmptyValue", "style", "explode", "schema",
	"format", "const", "enum", "default", "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum",
	"multipleOf", "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "items",
	"minProperties", "maxProperties", "properties", "additionalProperties",
	"example", "examples", "parameters", "requestBody", "content", "responses", "headers", "callbacks",
	"security", "paths", "webhooks", "components", "externalDocs",
)

// nameFields hold maps whose keys are names.
var nameFields = map[string]bool{
	"paths": true, "webhooks": true, "properties": true, "patternProperties": true, "dependentSchemas": true,
	"$defs": true, "responses": true, "schemas": true, "parameters": true, "securitySchemes": true,
	"headers": true, "content": true, "requestBodies": true, "links": true, "callbacks": true,
	"variables": true, "encoding": true, "mapping": true, "scopes": true, "examples": true,
}

// dataFields hold plain values.
var dataFields = map[string]bool{
	"default": true, "enum": true, "example": true, "const": true, "examples": true,
	"security": true, "dependentRequired": true, "value": true,
}

func rank(keys ...string) map[string]int {
	m := make(map[string]int, len(keys))
	for i, k := range keys {
		m[k] = i
	}
	return m
}

// arrange orders the keys of every object in v, knowing what the keys of v
// are.
func arrange(v any, kind keyKind) any {
	switch t := v.(type) {
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = arrange(e, kind)
		}
		return out
	case map[string]any:
		o := object{keys: make([]string, 0, len(t)), vals: make(map[string]any, len(t))}
		for k := range t {
			o.keys = append(o.keys, k)
		}
		if kind == fields {
			slices.SortFunc(o.keys, byFieldOrder)
		} else {
			slices.Sort(o.keys)
		}
		for _, k := range o.keys {
			o.vals[k] = arrange(t[k], childKind(kind, k, t[k]))
		}
		return o
	}
	return v
}

// childKind says what the keys of the value under key are.
func childKind(parent keyKind, key string, v any) keyKind {
	switch parent {
	case data:
		return data
	case names:
		return fields // a named thing is an OpenAPI object (or a plain string)
	}
	_, isMap := v.(map[string]any)
	switch {
	case strings.HasPrefix(key, "x-"):
		return data
	case nameFields[key] && isMap:
		return names
	case dataFields[key]:
		return data
	}
	return fields
}

func byFieldOrder(a, b string) int {
	ra, oka := fieldOrder[a]
	rb, okb := fieldOrder[b]
	switch {
	case oka && okb:
		return ra - rb
	case oka:
		return -1
	case okb:
		return 1
	}
	return strings.Compare(a, b)
}

// writeJSON writes v compactly, without HTML escaping.
func writeJSON(buf *bytes.Buffer, v any) {
	switch t := v.(type) {
	case object:
		buf.WriteByte('{')
		for i, k := range t.keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			writeJSON(buf, t.vals[k])
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSON(buf, e)
		}
		buf.WriteByte(']')
	case string:
		writeString(buf, t)
	case json.Number:
		buf.WriteString(t.String())
	case bool:
		buf.WriteString(strconv.FormatBool(t))
	case nil:
		buf.WriteString("null")
	}
}

func writeString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)           // a string always encodes
	buf.Truncate(buf.Len() - 1) // Encode's newline
}

// toYAML turns the arranged tree into values goccy/go-yaml writes in order.
func toYAML(v any) any {
	switch t := v.(type) {
	case object:
		out := make(yaml.MapSlice, 0, len(t.keys))
		for _, k := range t.keys {
			out = append(out, yaml.MapItem{Key: k, Value: toYAML(t.vals[k])})
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = toYAML(e)
		}
		return out
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(t.String(), 10, 64); err == nil {
			return u
		}
		f, _ := t.Float64()
		return f
	}
	return v
}
