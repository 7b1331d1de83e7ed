// Package schema generates JSON Schemas (draft 2020-12) of the files a
// pipeline directory holds, for editors (yaml-language-server) and
// linters. They are reflected from the Go types the loader decodes into,
// by their yaml tags, so they cannot drift from what loads: every object
// has additionalProperties false, as loading is strict, and the custom
// scalars (durations, sizes, rates, jq expressions) are strings with
// their patterns.
package schema

import (
	"encoding/json"
	"reflect"
	"strings"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Draft is the JSON Schema dialect of the generated schemas.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// Schema is a JSON Schema document.
type Schema = map[string]any

// Pipeline is the schema of a pipeline file.
func Pipeline() Schema {
	return For(reflect.TypeFor[pipeline.Pipeline](), "Manifold pipeline", "One composite endpoint of a Manifold pipeline directory.")
}

// Gateway is the schema of gateway.yaml.
func Gateway() Schema {
	return For(reflect.TypeFor[gateway.Config](), "Manifold gateway.yaml", "Listeners, upstreams and gateway-wide defaults of a Manifold pipeline directory. ${NAME} takes a value from the environment.")
}

// For reflects the schema of the YAML file t decodes, with its title and
// description.
func For(t reflect.Type, title, description string) Schema {
	r := &reflector{defs: Schema{}}
	s := r.schema(t)
	s["$schema"] = Draft
	s["title"] = title
	s["description"] = description
	if len(r.defs) > 0 {
		s["$defs"] = r.defs
	}
	return s
}

// JSON renders s indented, keys sorted (encoding/json sorts map keys), so
// the same types give the same bytes.
func JSON(s Schema) []byte {
	b, _ := json.MarshalIndent(s, "", "  ")
	return append(b, '\n')
}

type reflector struct {
	defs Schema
}

// schema is the schema of a value of type t.
func (r *reflector) schema(t reflect.Type) Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name, def, ok := scalar(t); ok {
		if _, done := r.defs[name]; !done {
			r.defs[name] = def(r)
		}
		return Schema{"$ref": "#/$defs/" + name}
	}
	switch t.Kind() {
	case reflect.Struct:
		return r.object(t)
	case reflect.Map:
		return Schema{"type": "object", "additionalProperties": r.schema(t.Elem())}
	case reflect.Slice, reflect.Array:
		return Schema{"type": "array", "items": r.schema(t.Elem())}
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	}
	return Schema{} // any value
}

// object is a struct's schema: its yaml-tagged fields, nothing else.
func (r *reflector) object(t reflect.Type) Schema {
	props := Schema{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		props[name] = r.schema(f.Type)
	}
	return Schema{"type": "object", "properties": props, "additionalProperties": false}
}
