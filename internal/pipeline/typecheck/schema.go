package typecheck

import (
	"maps"
	"slices"
	"sort"
)

// Schema is a JSON Schema as a JSON object. The empty Schema ({}) is any
// value: what inference gives where it cannot tell. A nil Schema is no
// value at all (the output of empty or error), which a union ignores.
type Schema = map[string]any

// Any is the schema of any JSON value.
func Any() Schema { return Schema{} }

// Of is the schema of the values of one JSON type.
func Of(typ string) Schema { return Schema{"type": typ} }

// ArrayOf is the schema of arrays whose items have schema items.
func ArrayOf(items Schema) Schema {
	if items == nil || len(items) == 0 {
		return Of("array")
	}
	return Schema{"type": "array", "items": items}
}

// ObjectOf is the schema of objects with the given properties.
func ObjectOf(props map[string]Schema) Schema {
	p := make(map[string]any, len(props))
	for k, v := range props {
		p[k] = v
	}
	return Schema{"type": "object", "properties": p}
}

// emptyArray is the schema of `[]`: an array with no items, which a
// union leaves out rather than widening the items to any.
func emptyArray() Schema { return Schema{"type": "array", "maxItems": 0} }

func isEmptyArray(s Schema) bool {
	n, ok := s["maxItems"].(int)
	return ok && n == 0
}

// TypeOf is the one JSON type a schema allows, null aside ("" when it
// allows several, or any). "integer" counts as its own type.
func TypeOf(s Schema) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		return single(t)
	case []string:
		list := make([]any, len(t))
		for i, v := range t {
			list[i] = v
		}
		return single(list)
	}
	if _, ok := s["properties"]; ok {
		return "object"
	}
	return ""
}

func single(types []any) string {
	out := ""
	for _, v := range types {
		if v == "null" {
			continue
		}
		if out != "" {
			return ""
		}
		out, _ = v.(string)
	}
	return out
}

// Items is the schema of an array's items ({} when not known).
func Items(s Schema) Schema {
	if it, ok := s["items"].(Schema); ok {
		return it
	}
	return Any()
}

// Props are an object schema's declared properties (nil when none).
func Props(s Schema) map[string]any {
	p, _ := s["properties"].(map[string]any)
	return p
}

// Extra is the schema of an object's undeclared properties: its
// additionalProperties when a schema, {} when any are allowed and nil
// when none are.
func Extra(s Schema) Schema {
	switch a := s["additionalProperties"].(type) {
	case Schema:
		return a
	case bool:
		if !a {
			return nil
		}
	}
	return Any()
}

// closed reports whether a schema lists an object's properties: a name
// it lacks is then suspect.
func closed(s Schema) bool {
	if TypeOf(s) != "object" || Props(s) == nil {
		return false
	}
	_, open := s["additionalProperties"].(Schema)
	return !open && s["additionalProperties"] != true
}

// Union is a schema of the values of a and of b: the same schema when
// they agree, objects with the properties of both, arrays of the union
// of their items, and any ({}) when their types differ. Never narrower
// than the truth: that is what keeps it right.
func Union(a, b Schema) Schema {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case len(a) == 0 || len(b) == 0:
		return Any()
	}
	ta, tb := TypeOf(a), TypeOf(b)
	if ta == "null" {
		return nullable(b)
	}
	if tb == "null" {
		return nullable(a)
	}
	if (ta == "integer" && tb == "number") || (ta == "number" && tb == "integer") {
		return Of("number")
	}
	if ta == "" || ta != tb {
		return Any()
	}
	switch ta {
	case "array":
		switch {
		case isEmptyArray(a):
			return b
		case isEmptyArray(b):
			return a
		}
		return ArrayOf(Union(Items(a), Items(b)))
	case "object":
		return unionObjects(a, b)
	}
	out := Of(ta)
	if f, ok := a["format"]; ok && f == b["format"] {
		out["format"] = f
	}
	return out
}

func unionObjects(a, b Schema) Schema {
	pa, pb := Props(a), Props(b)
	if pa == nil || pb == nil {
		return Of("object")
	}
	props := map[string]Schema{}
	for k, v := range pa {
		props[k], _ = v.(Schema)
	}
	for k, v := range pb {
		s, _ := v.(Schema)
		if prev, ok := props[k]; ok {
			s = Union(prev, s)
		}
		props[k] = s
	}
	for k, s := range props { // a value without the property reads it as null
		if pa[k] == nil || pb[k] == nil {
			props[k] = nullable(s)
		}
	}
	return ObjectOf(props)
}

// nullable widens s to allow null too.
func nullable(s Schema) Schema {
	if len(s) == 0 || allowsNull(s) || TypeOf(s) == "null" {
		return s
	}
	out := maps.Clone(s)
	switch t := s["type"].(type) {
	case string:
		out["type"] = []any{t, "null"}
	case []any:
		out["type"] = append(slices.Clone(t), "null")
	case []string:
		list := make([]any, 0, len(t)+1)
		for _, v := range t {
			list = append(list, v)
		}
		out["type"] = append(list, "null")
	default: // {properties: ...} without a type; none at all is any type
		if t := TypeOf(s); t != "" {
			out["type"] = []any{t, "null"}
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, nil) {
		out["enum"] = append(slices.Clone(enum), nil)
	}
	return out
}

// allowsNull reports whether s's type list includes null.
func allowsNull(s Schema) bool {
	list, _ := s["type"].([]any)
	for _, t := range list {
		if t == "null" {
			return true
		}
	}
	return false
}

// nonNull is s without null: the left side of `//` gives no null.
func nonNull(s Schema) Schema {
	if s == nil || TypeOf(s) == "null" {
		return nil
	}
	if list, ok := s["type"].([]any); ok {
		if t := single(list); t != "" {
			out := maps.Clone(s)
			out["type"] = t
			return out
		}
	}
	return s
}

// propNames lists a schema's property names, sorted.
func propNames(s Schema) []string {
	names := slices.Collect(maps.Keys(Props(s)))
	sort.Strings(names)
	return names
}
