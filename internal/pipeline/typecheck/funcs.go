package typecheck

import (
	"strings"

	"github.com/itchyny/gojq"
)

// Builtins by what they give, whatever their input.
var (
	boolFuncs = set("not", "has", "contains", "inside", "in", "startswith", "endswith", "test",
		"any", "all", "isempty", "isnan", "isinfinite", "isnormal", "isvalid")
	stringFuncs = set("tostring", "type", "join", "ascii_downcase", "ascii_upcase",
		"trim", "ltrim", "rtrim", "tojson", "ascii", "sub", "gsub", "implode", "todate", "todateiso8601",
		"strftime", "strflocaltime", "format", "splits", "@text", "@json", "@base64", "@base64d", "@uri", "@html", "@csv", "@tsv", "@sh")
	numberFuncs = set("tonumber", "now", "abs", "sqrt", "pow", "log", "exp", "log10", "log2", "infinite",
		"nan", "fromdate", "fromdateiso8601", "mktime", "significand", "logb", "gamma", "ldexp", "scalb", "exp10")
	integerFuncs = set("utf8bytelength", "floor", "ceil", "round", "trunc", "input_line_number")
	// identity gives its input (or a part of it, with its schema).
	// (ltrimstr and rtrimstr give a non-string input as it is.)
	identity = set("select", "sort", "sort_by", "unique", "unique_by", "reverse", "values", "objects", "arrays", "ltrimstr", "rtrimstr",
		"strings", "numbers", "booleans", "nulls", "iterables", "scalars", "debug", "stderr", "del", "delpaths",
		"to_number", "tojson_compat", "recurse_down", "limit_input")
	// oneItem gives one of its input array's items.
	oneItem = set("first", "last", "min", "max", "min_by", "max_by", "add", "nth")
	never   = set("empty", "error", "halt", "halt_error")
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// call is a function call: a variable, or a builtin.
func (e *inferrer) call(f *gojq.Func, in Schema, env map[string]Schema) Schema {
	if strings.HasPrefix(f.Name, "$") {
		return e.variable(f.Name, env)
	}
	if s, ok := e.withArgs(f, in, env); ok {
		return s
	}
	for _, a := range f.Args { // arguments may reference fields
		e.query(a, in, env)
	}
	switch {
	case boolFuncs[f.Name]:
		return Of("boolean")
	case stringFuncs[f.Name]:
		return Of("string")
	case numberFuncs[f.Name]:
		return Of("number")
	case integerFuncs[f.Name]:
		return Of("integer")
	case identity[f.Name]:
		return in
	case f.Name == "index" || f.Name == "rindex":
		return Union(Of("integer"), Of("null")) // not found: null
	case f.Name == "length":
		if t := TypeOf(in); t == "number" || t == "" { // a number's length is its absolute value
			return Of("number")
		}
		return Of("integer")
	case oneItem[f.Name] && (len(f.Args) == 0 || (f.Name == "nth" && len(f.Args) == 1)):
		return nullable(Items(in)) // an empty array gives null
	case never[f.Name]:
		return nil
	}
	return e.collections(f.Name, in)
}

// withArgs are the builtins whose result follows from their arguments.
func (e *inferrer) withArgs(f *gojq.Func, in Schema, env map[string]Schema) (Schema, bool) {
	arg := func(i int, input Schema) Schema { return e.query(f.Args[i], input, env) }
	switch {
	case f.Name == "map" && len(f.Args) == 1:
		return ArrayOf(arg(0, Items(in))), true
	case f.Name == "map_values" && len(f.Args) == 1:
		return Of(objectOr(in)), true
	case (f.Name == "first" || f.Name == "last") && len(f.Args) == 1, f.Name == "limit" && len(f.Args) == 2:
		return arg(len(f.Args)-1, in), true
	case f.Name == "range":
		for i := range f.Args {
			arg(i, in)
		}
		return Of("integer"), true
	case (f.Name == "select" || f.Name == "sort_by" || f.Name == "unique_by" || f.Name == "recurse") && len(f.Args) == 1:
		if f.Name == "sort_by" || f.Name == "unique_by" {
			arg(0, Items(in))
		} else {
			arg(0, in)
		}
		if f.Name == "recurse" {
			return Any(), true
		}
		return in, true
	case f.Name == "group_by" && len(f.Args) == 1:
		arg(0, Items(in))
		return ArrayOf(in), true
	case (f.Name == "min_by" || f.Name == "max_by") && len(f.Args) == 1:
		arg(0, Items(in))
		return nullable(Items(in)), true
	}
	return nil, false
}

func objectOr(in Schema) string {
	if TypeOf(in) == "object" {
		return "object"
	}
	return ""
}

// collections are builtins that build arrays and objects.
func (e *inferrer) collections(name string, in Schema) Schema {
	switch name {
	case "split":
		return ArrayOf(Of("string"))
	case "keys", "keys_unsorted":
		switch TypeOf(in) {
		case "object":
			return ArrayOf(Of("string"))
		case "array":
			return ArrayOf(Of("integer"))
		}
		return Of("array")
	case "to_entries":
		return ArrayOf(ObjectOf(map[string]Schema{"key": Of("string"), "value": iterate(in)}))
	case "from_entries":
		value := Items(in)
		if v, ok := Props(value)["value"].(Schema); ok {
			return Schema{"type": "object", "additionalProperties": v}
		}
		return Of("object")
	case "with_entries", "capture", "match", "splits_object":
		return Of("object")
	case "indices", "explode":
		return ArrayOf(Of("integer"))
	case "transpose", "combinations", "paths", "leaf_paths", "to_array":
		return Of("array")
	case "flatten":
		// One level down is all only when the items' items are no arrays.
		if inner := Items(Items(in)); TypeOf(Items(in)) == "array" && TypeOf(inner) != "" && TypeOf(inner) != "array" {
			return ArrayOf(inner)
		}
		return Of("array")
	}
	return Any()
}
