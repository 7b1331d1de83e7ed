package typecheck

import (
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// Convert is the JSON Schema of a document's schema, its $refs resolved
// (a recursive one becomes any). It keeps what inference and published
// documents need: types, formats, enums, descriptions, properties,
// required, items and additionalProperties; allOf of objects is merged,
// oneOf and anyOf become their union.
func Convert(ref *openapi3.SchemaRef) Schema {
	return convert(ref, map[*openapi3.Schema]bool{})
}

func convert(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) Schema {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return Any()
	}
	s := ref.Value
	seen[s] = true
	defer delete(seen, s)
	out := Schema{}
	if s.Type != nil && len(*s.Type) > 0 {
		types := s.Type.Slice()
		if s.Nullable && !s.Type.Includes("null") {
			types = append(types, "null")
		}
		if len(types) == 1 {
			out["type"] = types[0]
		} else {
			list := make([]any, len(types))
			for i, t := range types {
				list[i] = t
			}
			out["type"] = list
		}
	}
	if s.Format != "" {
		out["format"] = s.Format
	}
	if s.Description != "" {
		out["description"] = s.Description
	}
	if len(s.Enum) > 0 {
		out["enum"] = s.Enum
	}
	if len(s.Properties) > 0 {
		props := map[string]any{}
		for name, p := range s.Properties {
			props[name] = convert(p, seen)
			if !slices.Contains(s.Required, name) {
				props[name] = nullable(props[name].(Schema)) // .name of an answer without it is null
			}
		}
		out["properties"] = props
	}
	if len(s.Required) > 0 {
		req := make([]any, len(s.Required))
		for i, r := range s.Required {
			req[i] = r
		}
		out["required"] = req
	}
	if s.Items != nil {
		out["items"] = convert(s.Items, seen)
	}
	if ap := s.AdditionalProperties; ap.Has != nil && !*ap.Has {
		out["additionalProperties"] = false
	} else if ap.Schema != nil {
		out["additionalProperties"] = convert(ap.Schema, seen)
	}
	return combine(out, s, seen)
}

// combine folds allOf, oneOf and anyOf into out.
func combine(out Schema, s *openapi3.Schema, seen map[*openapi3.Schema]bool) Schema {
	if len(s.AllOf) > 0 {
		merged := out
		for _, part := range s.AllOf {
			p := convert(part, seen)
			if TypeOf(p) != "object" || (TypeOf(merged) != "" && TypeOf(merged) != "object") {
				return Any()
			}
			merged = mergeObjects(withProps(merged), p)
		}
		out = merged
	}
	alts := append(append(openapi3.SchemaRefs{}, s.OneOf...), s.AnyOf...)
	if len(alts) > 0 {
		var u Schema
		for _, a := range alts {
			u = Union(u, convert(a, seen))
		}
		if len(out) > 0 {
			return Any() // properties beside alternatives: not followed
		}
		return u
	}
	return out
}

func withProps(s Schema) Schema {
	if Props(s) == nil {
		out := Schema{}
		for k, v := range s {
			out[k] = v
		}
		out["type"] = "object"
		out["properties"] = map[string]any{}
		return out
	}
	return s
}
