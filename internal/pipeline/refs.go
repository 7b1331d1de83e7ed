package pipeline

import (
	"strings"

	"github.com/itchyny/gojq"
)

// exprRefs is what a jq expression reads, as far as its parsed form tells:
// the keys of its input it reads by name (`.forecast`, `.["forecast"]`,
// `{forecast}`), in order of first use, and the functions and variables
// it uses that read outside the run.
type exprRefs struct {
	keys   []string
	impure []string
}

// impureNames are the jq builtins and variables that read or write
// outside an expression's input, with why; a pipeline's expressions must
// be pure functions of the run, so each is a load error.
var impureNames = map[string]string{
	"env":               "reads the gateway's environment, which expressions never see: put the value in gateway.yaml as ${NAME} (an upstream's url or headers)",
	"$ENV":              "reads the gateway's environment, which expressions never see: put the value in gateway.yaml as ${NAME} (an upstream's url or headers)",
	"input":             "reads a next input, but an expression has one input: the run's",
	"inputs":            "reads further inputs, but an expression has one input: the run's",
	"input_filename":    "reads the name of an input file, and there is none",
	"input_line_number": "reads a line number of an input file, and there is none",
	"$__loc__":          "reads where the expression is written, not the run",
	"$__prog_args":      "reads the jq command line, and there is none",
	"debug":             "writes to the gateway's stderr",
	"stderr":            "writes to the gateway's stderr",
	"halt":              "stops jq rather than answering",
	"halt_error":        "stops jq rather than answering",
	"get_search_list":   "reads the jq module search path",
	"get_prog_origin":   "reads the jq program's location",
	"get_jq_origin":     "reads the jq executable's location",
}

// sameInput lists the builtins (name/arity) whose arguments at the given
// indexes are evaluated against the call's own input, so that `.x` in them
// reads what `.x` outside reads. Arguments of every other function see
// something else (elements, an accumulator, a capture) or cannot be
// told: they are not taken as reading the expression's input, so that
// no check ever fires on a guess.
var sameInput = map[string][]int{
	"select/1": {0}, "has/1": {0}, "contains/1": {0}, "inside/1": {0}, "in/1": {0},
	"test/1": {0}, "test/2": {0, 1}, "match/1": {0}, "match/2": {0, 1},
	"capture/1": {0}, "capture/2": {0, 1}, "split/1": {0}, "split/2": {0, 1},
	"splits/1": {0}, "splits/2": {0, 1}, "join/1": {0}, "ltrimstr/1": {0}, "rtrimstr/1": {0},
	"startswith/1": {0}, "endswith/1": {0}, "index/1": {0}, "rindex/1": {0}, "indices/1": {0},
	"error/1": {0}, "getpath/1": {0}, "setpath/2": {0, 1}, "delpaths/1": {0}, "del/1": {0},
	"path/1": {0}, "pick/1": {0}, "first/1": {0}, "last/1": {0}, "limit/2": {0, 1},
	"nth/2": {0, 1}, "skip/2": {0, 1}, "isempty/1": {0}, "range/1": {0}, "range/2": {0, 1},
	"range/3": {0, 1, 2}, "add/1": {0}, "any/2": {0}, "all/2": {0}, "IN/1": {0}, "IN/2": {0, 1},
	"INDEX/2": {0}, "flatten/1": {0}, "combinations/1": {0}, "sub/2": {0}, "sub/3": {0, 2},
	"gsub/2": {0}, "gsub/3": {0, 2}, "strftime/1": {0}, "strptime/1": {0},
	"pow/2": {0, 1}, "atan2/2": {0, 1}, "fmin/2": {0, 1}, "fmax/2": {0, 1}, "fmod/2": {0, 1},
	"ldexp/2": {0, 1}, "scalb/2": {0, 1}, "scalbln/2": {0, 1}, "copysign/2": {0, 1},
	"fromstream/1": {0},
}

// scanRefs walks a parsed expression.
func scanRefs(q *gojq.Query) exprRefs {
	w := &refWalker{defs: map[string]bool{}, seen: map[string]bool{}}
	collectDefs(q, w.defs)
	w.query(q, true)
	return w.refs
}

// refWalker walks a query keeping track of whether `.` is still the
// expression's input (root): only then is `.NAME` a reference to it.
type refWalker struct {
	refs exprRefs
	defs map[string]bool // functions the expression defines (name/arity)
	seen map[string]bool
}

// collectDefs finds every `def` of q, at any depth: a definition shadows
// a builtin of the same name and arity.
func collectDefs(q *gojq.Query, defs map[string]bool) {
	if q == nil {
		return
	}
	for _, fd := range q.FuncDefs {
		defs[funcKey(fd.Name, len(fd.Args))] = true
		collectDefs(fd.Body, defs)
	}
	collectDefs(q.Left, defs)
	collectDefs(q.Right, defs)
	if q.Term != nil && q.Term.Query != nil {
		collectDefs(q.Term.Query, defs)
	}
}

func funcKey(name string, arity int) string {
	return name + "/" + string(rune('0'+min(arity, 9)))
}

func (w *refWalker) key(name string) {
	if !w.seen["."+name] {
		w.seen["."+name] = true
		w.refs.keys = append(w.refs.keys, name)
	}
}

func (w *refWalker) impure(name string) {
	if !w.seen[name] {
		w.seen[name] = true
		w.refs.impure = append(w.refs.impure, name)
	}
}

func (w *refWalker) query(q *gojq.Query, root bool) {
	if q == nil {
		return
	}
	for _, fd := range q.FuncDefs {
		w.query(fd.Body, false) // a function's input is its caller's `.`
	}
	if q.Term != nil {
		w.term(q.Term, root)
	}
	switch q.Op {
	case 0:
	case gojq.OpPipe:
		w.query(q.Left, root)
		// `E as $x | body` runs body on the input of E; `. | body` too.
		w.query(q.Right, root && (len(q.Patterns) > 0 || isIdentity(q.Left)))
	case gojq.OpModify: // `path |= f`: f sees the value at path
		w.query(q.Left, root)
		w.query(q.Right, false)
	default:
		w.query(q.Left, root)
		w.query(q.Right, root)
	}
}

func isIdentity(q *gojq.Query) bool {
	return q != nil && q.Op == 0 && q.Term != nil && q.Term.Type == gojq.TermTypeIdentity && len(q.Term.SuffixList) == 0
}

func (w *refWalker) term(t *gojq.Term, root bool) {
	switch t.Type {
	case gojq.TermTypeIndex:
		if name := indexName(t.Index); root && name != "" {
			w.key(name)
		}
		w.index(t.Index, root)
	case gojq.TermTypeFunc:
		w.fn(t.Func, root)
	case gojq.TermTypeObject:
		w.object(t.Object, root)
	case gojq.TermTypeArray:
		w.query(t.Array.Query, root)
	case gojq.TermTypeString, gojq.TermTypeFormat:
		w.str(t.Str, root)
	case gojq.TermTypeUnary:
		w.term(t.Unary.Term, root)
	case gojq.TermTypeIf:
		w.ifTerm(t.If, root)
	case gojq.TermTypeTry:
		w.query(t.Try.Body, root)
		w.query(t.Try.Catch, false) // the catch sees the error
	case gojq.TermTypeReduce:
		w.query(t.Reduce.Query, root)
		w.query(t.Reduce.Start, root)
		w.query(t.Reduce.Update, false) // the update sees the accumulator
	case gojq.TermTypeForeach:
		w.query(t.Foreach.Query, root)
		w.query(t.Foreach.Start, root)
		w.query(t.Foreach.Update, false)
		w.query(t.Foreach.Extract, false)
	case gojq.TermTypeLabel:
		w.query(t.Label.Body, root)
	case gojq.TermTypeQuery:
		w.query(t.Query, root)
	}
	// Index expressions in suffixes (`.a[.i]`) see the term's input.
	for _, s := range t.SuffixList {
		w.index(s.Index, root)
	}
}

// indexName is the key a `.NAME`, `."NAME"` or `.["NAME"]` reads, or "".
func indexName(ix *gojq.Index) string {
	switch {
	case ix == nil || ix.IsSlice:
		return ""
	case ix.Name != "":
		return ix.Name
	case ix.Str != nil && len(ix.Str.Queries) == 0:
		return ix.Str.Str
	case ix.Start != nil && ix.End == nil:
		if t := ix.Start.Term; ix.Start.Op == 0 && t != nil && t.Type == gojq.TermTypeString &&
			len(t.SuffixList) == 0 && len(t.Str.Queries) == 0 {
			return t.Str.Str
		}
	}
	return ""
}

func (w *refWalker) index(ix *gojq.Index, root bool) {
	if ix == nil {
		return
	}
	w.str(ix.Str, root)
	w.query(ix.Start, root)
	w.query(ix.End, root)
}

func (w *refWalker) str(s *gojq.String, root bool) {
	if s == nil {
		return
	}
	for _, q := range s.Queries {
		w.query(q, root)
	}
}

func (w *refWalker) fn(f *gojq.Func, root bool) {
	k := funcKey(f.Name, len(f.Args))
	if _, bad := impureNames[f.Name]; bad && !w.defs[k] {
		w.impure(f.Name)
	}
	seeing := map[int]bool{}
	if idx, ok := sameInput[k]; ok && !w.defs[k] {
		for _, i := range idx {
			seeing[i] = true
		}
	}
	for i, a := range f.Args {
		w.query(a, root && seeing[i])
	}
}

func (w *refWalker) object(o *gojq.Object, root bool) {
	for _, kv := range o.KeyVals {
		w.str(kv.KeyString, root)
		w.query(kv.KeyQuery, root)
		switch {
		case kv.Val != nil:
			w.query(kv.Val, root)
		case root && kv.Key != "" && !strings.HasPrefix(kv.Key, "$"):
			w.key(kv.Key) // {forecast} is {forecast: .forecast}
		case kv.Key == "$__loc__":
			w.impure(kv.Key)
		}
	}
}

func (w *refWalker) ifTerm(t *gojq.If, root bool) {
	w.query(t.Cond, root)
	w.query(t.Then, root)
	for _, e := range t.Elif {
		w.query(e.Cond, root)
		w.query(e.Then, root)
	}
	w.query(t.Else, root)
}

// Kinds a static look at an expression can tell (see staticKind).
const (
	kindUnknown = ""
	kindArray   = "an array"
	kindObject  = "an object"
	kindString  = "a string"
	kindNumber  = "a number"
	kindBoolean = "a boolean"
	kindNull    = "null"
)

// staticKind tells the JSON type an expression always gives, for the
// forms whose type does not depend on the run: literals, and the parts of
// the input whose type is declared (.params, a parameter, .consumer).
func staticKind(q *gojq.Query, p *Pipeline) string {
	if q == nil || q.Op != 0 || q.Term == nil {
		return kindUnknown
	}
	t := q.Term
	if t.Type == gojq.TermTypeQuery && len(t.SuffixList) == 0 {
		return staticKind(t.Query, p)
	}
	if t.Type == gojq.TermTypeIndex {
		return inputKind(t, p)
	}
	if len(t.SuffixList) > 0 {
		return kindUnknown
	}
	switch t.Type {
	case gojq.TermTypeObject:
		return kindObject
	case gojq.TermTypeArray:
		return kindArray
	case gojq.TermTypeString:
		return kindString
	case gojq.TermTypeNumber:
		return kindNumber
	case gojq.TermTypeTrue, gojq.TermTypeFalse:
		return kindBoolean
	case gojq.TermTypeNull:
		return kindNull
	}
	return kindUnknown
}

// inputKind is the type of .params, .params.NAME, .consumer and its
// members.
func inputKind(t *gojq.Term, p *Pipeline) string {
	var path []string
	for _, ix := range append([]*gojq.Index{t.Index}, suffixIndexes(t.SuffixList)...) {
		name := indexName(ix)
		if name == "" {
			return kindUnknown
		}
		path = append(path, name)
	}
	switch {
	case len(path) == 1 && (path[0] == "params" || path[0] == "consumer"):
		return kindObject
	case len(path) == 2 && path[0] == "consumer" && path[1] == "name":
		return kindString
	case len(path) == 2 && path[0] == "consumer" && path[1] == "roles":
		return kindArray
	case len(path) == 2 && path[0] == "params" && p.Params[path[1]] != nil:
		switch p.Params[path[1]].Type {
		case "string":
			return kindString
		case "integer", "number":
			return kindNumber
		case "boolean":
			return kindBoolean
		}
	}
	return kindUnknown
}

// suffixIndexes returns the indexes of a suffix list, or one nil entry
// when a suffix is anything else (an iteration, `?`).
func suffixIndexes(list []*gojq.Suffix) []*gojq.Index {
	out := make([]*gojq.Index, 0, len(list))
	for _, s := range list {
		if s.Index == nil {
			return append(out, nil)
		}
		out = append(out, s.Index)
	}
	return out
}
