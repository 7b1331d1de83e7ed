package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// schemaFrom turns a JSON Schema written in a pipeline file (decoded YAML)
// into kin-openapi's model, in OpenAPI 3.1 form (see to31). A nil schema
// gives nil.
func schemaFrom(v map[string]any) (*openapi3.Schema, error) {
	if v == nil {
		return nil, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("not representable as JSON: %w", err)
	}
	s := &openapi3.Schema{}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("not a JSON Schema: %w", err)
	}
	to31(s, map[*openapi3.Schema]bool{})
	return s, nil
}

// to31 rewrites the OpenAPI 3.0 idioms a schema may hold into their
// OpenAPI 3.1 (JSON Schema 2020-12) form, in place:
//   - `nullable: true` becomes "null" in the type array;
//   - `example: v` becomes `examples: [v]`;
//   - boolean exclusiveMinimum/exclusiveMaximum become the numeric bound.
//
// seen guards against cycles through resolved references.
func to31(s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	if s.Nullable {
		s.Nullable = false
		if s.Type != nil && len(*s.Type) > 0 && !s.Type.Includes("null") {
			t := append(slices.Clone(*s.Type), "null")
			s.Type = &t
		}
	}
	if s.Example != nil {
		if len(s.Examples) == 0 {
			s.Examples = []any{s.Example}
		}
		s.Example = nil
	}
	if b := s.ExclusiveMin.Bool; b != nil {
		s.ExclusiveMin = openapi3.ExclusiveBound{}
		if *b && s.Min != nil {
			s.ExclusiveMin.Value, s.Min = s.Min, nil
		}
	}
	if b := s.ExclusiveMax.Bool; b != nil {
		s.ExclusiveMax = openapi3.ExclusiveBound{}
		if *b && s.Max != nil {
			s.ExclusiveMax.Value, s.Max = s.Max, nil
		}
	}
	for _, ref := range subSchemas(s) {
		if ref != nil {
			to31(ref.Value, seen)
		}
	}
}

// subSchemas lists the schemas nested in s.
func subSchemas(s *openapi3.Schema) []*openapi3.SchemaRef {
	out := []*openapi3.SchemaRef{s.Items, s.Not, s.AdditionalProperties.Schema, s.Contains,
		s.PropertyNames, s.If, s.Then, s.Else, s.ContentSchema, s.UnevaluatedItems.Schema, s.UnevaluatedProperties.Schema}
	out = append(out, s.OneOf...)
	out = append(out, s.AnyOf...)
	out = append(out, s.AllOf...)
	out = append(out, s.PrefixItems...)
	for _, m := range []openapi3.Schemas{s.Properties, s.PatternProperties, s.DependentSchemas, s.Defs} {
		for _, k := range sortedKeys(m) {
			out = append(out, m[k])
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// inlineSchema copies a schema with every $ref replaced by the schema it
// points at (a pipeline file stands alone), in OpenAPI 3.1 form, as YAML
// in the order Marshal writes. A schema that contains itself is cut where
// it recurs.
func inlineSchema(ref *openapi3.SchemaRef) any {
	if ref == nil || ref.Value == nil {
		return nil
	}
	s := inline(ref.Value, map[*openapi3.Schema]bool{})
	to31(s, map[*openapi3.Schema]bool{})
	raw, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil
	}
	return toYAML(arrange(tree, fields))
}

func inline(s *openapi3.Schema, visiting map[*openapi3.Schema]bool) *openapi3.Schema {
	if visiting[s] {
		return &openapi3.Schema{Description: "Recursive: the same shape as an enclosing schema."}
	}
	visiting[s] = true
	defer delete(visiting, s)
	c := *s
	c.Extensions, c.Origin, c.Discriminator, c.XML, c.Defs = nil, nil, nil, nil, nil
	one := func(r *openapi3.SchemaRef) *openapi3.SchemaRef {
		if r == nil || r.Value == nil {
			return nil
		}
		return &openapi3.SchemaRef{Value: inline(r.Value, visiting)}
	}
	many := func(rs openapi3.SchemaRefs) openapi3.SchemaRefs {
		var out openapi3.SchemaRefs
		for _, r := range rs {
			if x := one(r); x != nil {
				out = append(out, x)
			}
		}
		return out
	}
	named := func(m openapi3.Schemas) openapi3.Schemas {
		if m == nil {
			return nil
		}
		out := openapi3.Schemas{}
		for k, r := range m {
			if x := one(r); x != nil {
				out[k] = x
			}
		}
		return out
	}
	c.Items, c.Not, c.Contains, c.PropertyNames = one(c.Items), one(c.Not), one(c.Contains), one(c.PropertyNames)
	c.If, c.Then, c.Else, c.ContentSchema = one(c.If), one(c.Then), one(c.Else), one(c.ContentSchema)
	c.AdditionalProperties.Schema = one(c.AdditionalProperties.Schema)
	c.UnevaluatedItems.Schema = one(c.UnevaluatedItems.Schema)
	c.UnevaluatedProperties.Schema = one(c.UnevaluatedProperties.Schema)
	c.OneOf, c.AnyOf, c.AllOf, c.PrefixItems = many(c.OneOf), many(c.AnyOf), many(c.AllOf), many(c.PrefixItems)
	c.Properties, c.PatternProperties, c.DependentSchemas = named(c.Properties), named(c.PatternProperties), named(c.DependentSchemas)
	return &c
}
