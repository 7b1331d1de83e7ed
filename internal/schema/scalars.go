package schema

import (
	"reflect"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Patterns of the custom scalars, as their UnmarshalYAML methods accept
// them.
const (
	DurationPattern = `^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$`
	SizePattern     = `^ *[0-9]+(\.[0-9]*)? *(B|KB|MB|GB|KiB|MiB|GiB)? *$`
	RatePattern     = `^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour)( +burst +[1-9][0-9]*)?$`
)

// scalar returns the $defs name and schema of a type with its own YAML
// syntax (a NodeUnmarshaler of internal/pipeline), or false.
func scalar(t reflect.Type) (string, func(*reflector) Schema, bool) {
	switch t {
	case reflect.TypeFor[yamlconf.Duration]():
		return "Duration", func(*reflector) Schema {
			return Schema{"type": "string", "pattern": DurationPattern, "description": `A duration such as "800ms", "3s" or "5m".`}
		}, true
	case reflect.TypeFor[yamlconf.Size]():
		return "Size", func(*reflector) Schema {
			return Schema{"description": `A size in bytes, or with a unit: "64KiB", "1MiB", "1GB".`, "oneOf": []any{
				Schema{"type": "integer", "minimum": 0},
				Schema{"type": "string", "pattern": SizePattern},
			}}
		}, true
	case reflect.TypeFor[yamlconf.Rate]():
		return "Rate", func(*reflector) Schema {
			return Schema{"type": "string", "pattern": RatePattern, "description": `A rate such as "60/min" or "10/sec burst 20".`}
		}, true
	case reflect.TypeFor[pipeline.Expr]():
		return "Expr", func(*reflector) Schema {
			return Schema{"type": "string", "description": "A jq expression (gojq), compiled at load time."}
		}, true
	case reflect.TypeFor[pipeline.Template]():
		return "Template", func(*reflector) Schema {
			return Schema{"description": "Any value; its strings may hold ${ jq } interpolations. A string that is exactly one ${ } keeps the JSON type of its value."}
		}, true
	case reflect.TypeFor[pipeline.StepQuery]():
		return "StepQuery", func(r *reflector) Schema {
			return Schema{"description": "Query parameters (http upstreams; values are templates) or a GraphQL document (graphql upstreams).", "oneOf": []any{
				Schema{"type": "object", "additionalProperties": r.schema(reflect.TypeFor[pipeline.Template]())},
				Schema{"type": "string"},
			}}
		}, true
	case reflect.TypeFor[pipeline.HeaderList]():
		return "HeaderList", func(*reflector) Schema {
			return Schema{"description": `Caller headers sent on to the upstream: names, prefixes ("X-Tenant-*"), "*" and exclusions ("!X-Debug").`,
				"type": []any{"array", "null"}, "items": Schema{"type": "string"}}
		}, true
	case reflect.TypeFor[gateway.Access]():
		return "Access", func(r *reflector) Schema {
			return Schema{"description": "Who may call: `public`, or {roles, rate}, or {public: true, rate}.", "oneOf": []any{
				Schema{"const": "public"},
				Schema{"type": "object", "additionalProperties": false, "properties": Schema{
					"public": Schema{"type": "boolean"},
					"roles":  Schema{"type": "array", "items": Schema{"type": "string"}},
					"rate":   r.schema(reflect.TypeFor[yamlconf.Rate]()),
				}},
			}}
		}, true
	}
	return "", nil, false
}
