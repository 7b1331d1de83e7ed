package openapi

import (
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goccy/go-yaml"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// importedParam is a backend parameter as a pipeline parameter.
type importedParam struct {
	name     string // the pipeline's name for it
	original string // the backend's name
	in       string
	split    bool // a list sent as repeated query keys
	spec     yaml.MapSlice
}

// ignoredHeaders are described by other parts of OpenAPI, and ignored as
// parameters (OpenAPI 3.1, Parameter Object).
var ignoredHeaders = map[string]bool{"accept": true, "content-type": true, "authorization": true}

// params converts the operation's parameters (path-level ones included);
// ok is false when a required one cannot be carried over.
func (c *converter) params(path string, item *openapi3.PathItem, op *openapi3.Operation) ([]importedParam, bool) {
	var all []*openapi3.Parameter
	seen := map[string]int{}
	for _, ref := range slices.Concat(item.Parameters, op.Parameters) {
		if ref == nil || ref.Value == nil {
			continue
		}
		key := ref.Value.In + " " + ref.Value.Name
		if i, dup := seen[key]; dup {
			all[i] = ref.Value // the operation's overrides the path's
			continue
		}
		seen[key] = len(all)
		all = append(all, ref.Value)
	}
	for _, m := range templateVar.FindAllStringSubmatch(path, -1) {
		if _, ok := seen["path "+m[1]]; !ok {
			all = append(all, &openapi3.Parameter{Name: m[1], In: "path", Required: true,
				Schema: openapi3.NewSchemaRef("", openapi3.NewStringSchema())})
		}
	}
	taken := map[string]bool{}
	var out []importedParam
	for _, p := range all {
		if c.key.carries(p) {
			continue // the gateway sends the key: callers never give it
		}
		ip, ok := c.param(p, taken)
		if ok {
			out = append(out, ip)
			continue
		}
		if p.Required || p.In == "path" {
			c.skip("required %s parameter %q cannot be carried over", p.In, p.Name)
			return nil, false
		}
	}
	return out, true
}

// param converts one parameter, or says (in skipped) why it cannot.
func (c *converter) param(p *openapi3.Parameter, taken map[string]bool) (importedParam, bool) {
	switch {
	case p.In == "cookie":
		c.skip("cookie parameter %q is left out: pipelines take path, query and header parameters", p.Name)
		return importedParam{}, false
	case p.In == "header" && (!identifierRE.MatchString(p.Name) || ignoredHeaders[strings.ToLower(p.Name)]):
		c.skip("header parameter %q is left out: pipeline header names are letters, digits and _", p.Name)
		return importedParam{}, false
	case p.Schema == nil || p.Schema.Value == nil:
		c.skip("parameter %q is left out: it has no schema", p.Name)
		return importedParam{}, false
	}
	s := p.Schema.Value
	typ, split := scalarType(s), false
	if typ == "array" && s.Items != nil && s.Items.Value != nil && isScalar(scalarType(s.Items.Value)) {
		typ, split = "string", p.In == "query" && (p.Explode == nil || *p.Explode) && (p.Style == "" || p.Style == "form")
		s = &openapi3.Schema{Description: s.Description}
	}
	if !isScalar(typ) {
		c.skip("parameter %q is left out: %s parameters cannot be carried over", p.Name, typ)
		return importedParam{}, false
	}
	name := p.Name
	if p.In != "header" {
		name = snake(p.Name)
	}
	name = uniqueName(name, taken)
	spec := yaml.MapSlice{{Key: "in", Value: p.In}, {Key: "type", Value: typ}}
	if p.In != "path" && p.Required && s.Default == nil {
		spec = append(spec, yaml.MapItem{Key: "required", Value: true})
	}
	if s.Format != "" {
		spec = append(spec, yaml.MapItem{Key: "format", Value: s.Format})
	}
	spec = append(spec, c.constraints(p.Name, typ, s)...)
	if ex := exampleOf(p, s); ex != nil && fits(s, typ, ex) {
		spec = append(spec, yaml.MapItem{Key: "example", Value: typedValue(typ, ex)})
	}
	desc := p.Description
	if desc == "" {
		desc = s.Description
	}
	if split || (typ == "string" && scalarType(p.Schema.Value) == "array") {
		desc = strings.TrimSpace(desc + " Comma-separated list.")
	}
	spec = appendText(spec, "description", desc, pipeline.MaxParamDescription)
	return importedParam{name: name, original: p.Name, in: p.In, split: split, spec: spec}, true
}

// constraints carries over what the pipeline checks: default, enum,
// bounds, lengths, pattern. Values that break the pipeline's own rules
// are left out.
func (c *converter) constraints(name, typ string, s *openapi3.Schema) yaml.MapSlice {
	var out yaml.MapSlice
	if s.Default != nil && fits(s, typ, s.Default) {
		out = append(out, yaml.MapItem{Key: "default", Value: typedValue(typ, s.Default)})
	}
	if len(s.Enum) > 0 {
		vals := make([]any, 0, len(s.Enum))
		for _, v := range s.Enum {
			if v != nil && sameType(typ, v) {
				vals = append(vals, typedValue(typ, v))
			}
		}
		if len(vals) == len(s.Enum) {
			out = append(out, yaml.MapItem{Key: "enum", Value: vals})
		} else {
			c.skip("the enum of parameter %q is left out: its values are not all of type %s", name, typ)
		}
	}
	if typ == "integer" || typ == "number" {
		if s.Min != nil {
			out = append(out, yaml.MapItem{Key: "minimum", Value: numberValue(*s.Min)})
		}
		if s.Max != nil {
			out = append(out, yaml.MapItem{Key: "maximum", Value: numberValue(*s.Max)})
		}
	}
	if typ == "string" {
		if s.MinLength > 0 {
			out = append(out, yaml.MapItem{Key: "min_length", Value: s.MinLength})
		}
		if s.MaxLength != nil {
			out = append(out, yaml.MapItem{Key: "max_length", Value: *s.MaxLength})
		}
		if s.Pattern != "" {
			if _, err := regexp.Compile(s.Pattern); err == nil {
				out = append(out, yaml.MapItem{Key: "pattern", Value: s.Pattern})
			} else {
				c.skip("the pattern of parameter %q is left out: Go's regexp does not accept it", name)
			}
		}
	}
	return out
}

// scalarType is a schema's type without "null" ("string" when unsaid).
func scalarType(s *openapi3.Schema) string {
	if s.Type != nil {
		if t := firstType(*s.Type); t != "" {
			return t
		}
	}
	if len(s.Properties) > 0 {
		return "object"
	}
	return "string"
}

func isScalar(typ string) bool {
	switch typ {
	case "string", "integer", "number", "boolean":
		return true
	}
	return false
}

func exampleOf(p *openapi3.Parameter, s *openapi3.Schema) any {
	switch {
	case p.Example != nil:
		return p.Example
	case s.Example != nil:
		return s.Example
	case len(s.Examples) > 0:
		return s.Examples[0]
	}
	for _, k := range sortedKeys(p.Examples) {
		if ex := p.Examples[k]; ex != nil && ex.Value != nil && ex.Value.Value != nil {
			return ex.Value.Value
		}
	}
	return nil
}

// fits reports whether v is a valid value of the parameter: of its type,
// and within its enum, bounds, lengths and pattern.
func fits(s *openapi3.Schema, typ string, v any) bool {
	if !sameType(typ, v) {
		return false
	}
	return s.VisitJSON(v, openapi3.EnableJSONSchema2020()) == nil
}

func sameType(typ string, v any) bool {
	switch t := v.(type) {
	case string:
		return typ == "string"
	case bool:
		return typ == "boolean"
	case float64:
		return typ == "number" || (typ == "integer" && t == math.Trunc(t) && math.Abs(t) < 1<<53)
	case int, int64, uint64:
		return typ == "number" || typ == "integer"
	}
	return false
}

// typedValue writes integral numbers as integers.
func typedValue(typ string, v any) any {
	if f, ok := v.(float64); ok && (typ == "integer" || f == math.Trunc(f)) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return v
}

func numberValue(f float64) any { return typedValue("number", f) }
