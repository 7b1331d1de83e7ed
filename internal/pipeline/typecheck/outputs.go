package typecheck

import (
	"strings"

	"github.com/itchyny/gojq"
)

// Collapsed is the schema of a whole expression's value as the pipeline
// takes it: one output as it is, none as null and several as an array of
// them. s is the schema of each output (Inference.Schema), one whether
// the expression always gives exactly one output (Inference.One).
func Collapsed(s Schema, one bool) Schema {
	if one || s == nil || len(s) == 0 {
		return s
	}
	return Union(Union(s, Of("null")), ArrayOf(s))
}

// oneOutput tells whether q surely gives exactly one output (or fails):
// false when it may give none or several, or cannot be told.
func oneOutput(q *gojq.Query) bool {
	switch {
	case q == nil:
		return true
	case len(q.FuncDefs) > 0:
		return false
	case q.Term != nil:
		return oneTerm(q.Term)
	}
	switch q.Op {
	case gojq.OpPipe, gojq.OpAlt, gojq.OpEq, gojq.OpNe, gojq.OpGt, gojq.OpLt, gojq.OpGe, gojq.OpLe,
		gojq.OpAnd, gojq.OpOr, gojq.OpAdd, gojq.OpSub, gojq.OpMul, gojq.OpDiv, gojq.OpMod:
		return oneOutput(q.Left) && oneOutput(q.Right) // also `E as $x | body`
	}
	return false // `,`, assignments
}

// argFree are builtins that give one output whatever their arguments
// give: the arguments run inside (over items, or as a path).
var argFree = set("map", "map_values", "sort_by", "group_by", "unique_by", "min_by", "max_by",
	"with_entries", "del", "any", "all", "isempty")

// oneFuncs are builtins that give one output for arguments that give one.
var oneFuncs = set("not", "has", "contains", "inside", "in", "startswith", "endswith", "test",
	"isnan", "isinfinite", "isnormal", "isvalid", "tostring", "type", "join", "ascii_downcase",
	"ascii_upcase", "ltrimstr", "rtrimstr", "trim", "ltrim", "rtrim", "tojson", "fromjson", "ascii",
	"sub", "gsub", "implode", "explode", "todate", "todateiso8601", "strftime", "strflocaltime",
	"format", "tonumber", "now", "abs", "sqrt", "pow", "log", "exp", "log10", "log2", "floor", "ceil",
	"round", "trunc", "length", "utf8bytelength", "index", "rindex", "indices", "sort", "unique",
	"reverse", "first", "last", "nth", "min", "max", "add", "keys", "keys_unsorted", "split",
	"to_entries", "from_entries", "flatten", "transpose", "getpath", "setpath", "delpaths",
	"fromdate", "fromdateiso8601", "mktime", "gmtime", "localtime")

func oneTerm(t *gojq.Term) bool {
	for _, s := range t.SuffixList {
		if s.Iter || s.Optional || (s.Index != nil && !oneIndex(s.Index)) {
			return false
		}
	}
	switch t.Type {
	case gojq.TermTypeIdentity, gojq.TermTypeNull, gojq.TermTypeTrue, gojq.TermTypeFalse,
		gojq.TermTypeNumber, gojq.TermTypeArray:
		return true
	case gojq.TermTypeString, gojq.TermTypeFormat:
		return oneString(t.Str)
	case gojq.TermTypeIndex:
		return oneIndex(t.Index)
	case gojq.TermTypeFunc:
		return oneFunc(t.Func)
	case gojq.TermTypeObject:
		for _, kv := range t.Object.KeyVals {
			if !oneString(kv.KeyString) || !oneOutput(kv.KeyQuery) || !oneOutput(kv.Val) {
				return false
			}
		}
		return true
	case gojq.TermTypeUnary:
		return oneTerm(t.Unary.Term)
	case gojq.TermTypeIf:
		ok := oneOutput(t.If.Cond) && oneOutput(t.If.Then) && oneOutput(t.If.Else)
		for _, e := range t.If.Elif {
			ok = ok && oneOutput(e.Cond) && oneOutput(e.Then)
		}
		return ok
	case gojq.TermTypeTry:
		return t.Try.Catch != nil && oneOutput(t.Try.Body) && oneOutput(t.Try.Catch)
	case gojq.TermTypeQuery:
		return oneOutput(t.Query)
	}
	return false // .., reduce, foreach, label, break
}

func oneIndex(ix *gojq.Index) bool {
	return ix == nil || (oneString(ix.Str) && oneOutput(ix.Start) && oneOutput(ix.End))
}

func oneString(s *gojq.String) bool {
	if s == nil {
		return true
	}
	for _, q := range s.Queries {
		if !oneOutput(q) {
			return false
		}
	}
	return true
}

func oneFunc(f *gojq.Func) bool {
	switch {
	case strings.HasPrefix(f.Name, "$"):
		return true
	case argFree[f.Name] && len(f.Args) > 0:
		return true
	case !oneFuncs[f.Name] || ((f.Name == "first" || f.Name == "last") && len(f.Args) > 0) ||
		(f.Name == "nth" && len(f.Args) > 1):
		return false
	}
	for _, a := range f.Args {
		if !oneOutput(a) {
			return false
		}
	}
	return true
}
