package pipeline

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/itchyny/gojq"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// exprScope is what one expression sees, for the checks of what it reads.
type exprScope struct {
	who    string          // "step air" or "output", for messages
	step   string          // the step the expression belongs to; "" for output
	sees   map[string]bool // the steps whose results it sees
	items  bool            // .item and .index are set (a foreach step's requests)
	once   string          // "when" or "foreach" of a foreach step: evaluated before the items
	answer bool            // its input is an answer (select, truncate), not the run
}

// checkExprs checks every expression of p against what it can see: a
// step's result read without needing the step, a step that does not
// exist, functions that read outside the run, a foreach that can never
// be an array. Each mistake would otherwise be a silent null at run time.
func (c pctx) checkExprs(p *Pipeline) {
	all := map[string]bool{}
	for _, name := range p.StepOrder {
		all[name] = true
	}
	for _, name := range p.StepOrder {
		if s := p.Steps[name]; s != nil {
			c.checkStepExprs(p, name, s)
		}
	}
	c.checkExpr(p, exprScope{who: "output", sees: all}, []string{"output"}, p.Output)
	c.checkExpr(p, exprScope{who: "truncate", answer: true}, []string{"truncate"}, p.Truncate)
}

func (c pctx) checkStepExprs(p *Pipeline, name string, s *Step) {
	sees := map[string]bool{}
	for _, n := range transitiveNeeds(p, name) {
		sees[n] = true
	}
	key := func(k ...string) []string { return append([]string{"steps", name}, k...) }
	run := exprScope{who: "step " + name, step: name, sees: sees, items: s.Foreach != nil}
	once := run
	once.items = false
	if s.Foreach != nil {
		once.once = "when"
	}
	c.checkExpr(p, once, key("when"), s.When)
	once.once = "foreach"
	c.checkExpr(p, once, key("foreach"), s.Foreach)
	c.checkForeachKind(p, key("foreach"), s.Foreach)
	c.checkExpr(p, exprScope{who: "step " + name, answer: true}, key("select"), s.Select)
	c.checkTemplate(p, run, key("path"), s.Path)
	c.checkTemplate(p, run, key("body"), s.Body)
	c.checkTemplate(p, run, key("variables"), s.Variables)
	if s.Query != nil {
		for _, qn := range s.Query.Order {
			c.checkTemplate(p, run, key("query", qn), s.Query.Params[qn])
		}
	}
	for _, hn := range sortedKeys(s.Headers) {
		c.checkTemplate(p, run, key("headers", hn), s.Headers[hn])
	}
}

func (c pctx) checkExpr(p *Pipeline, sc exprScope, keys []string, e *Expr) {
	if e == nil {
		return
	}
	if q, err := gojq.Parse(e.Src); err == nil { // a parse error is reported by compile
		c.checkQuery(p, sc, keys, e.node, q)
	}
}

// checkTemplate checks each `${ }` of a template's strings, at any depth.
func (c pctx) checkTemplate(p *Pipeline, sc exprScope, keys []string, t *Template) {
	if t == nil {
		return
	}
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		n = yamlconf.Unwrap(n)
		if s, ok := stringText(n); ok {
			parts, err := splitInterpolations(s)
			if err != nil {
				return
			}
			for i := 1; i < len(parts); i += 2 {
				if q, err := gojq.Parse(parts[i]); err == nil {
					c.checkQuery(p, sc, keys, n, q)
				}
			}
			return
		}
		switch v := n.(type) {
		case *ast.MappingNode, *ast.MappingValueNode:
			for _, kv := range yamlconf.Entries(v) {
				walk(kv.Value)
			}
		case *ast.SequenceNode:
			for _, e := range v.Values {
				walk(e)
			}
		}
	}
	walk(t.node)
}

func (c pctx) checkQuery(p *Pipeline, sc exprScope, keys []string, n ast.Node, q *gojq.Query) {
	refs := scanRefs(q)
	for _, name := range refs.impure {
		c.exprErrorf(keys, n, wordPattern(name), "%s %s", name, impureNames[name])
	}
	if sc.answer {
		return
	}
	for _, name := range refs.keys {
		if msg := sc.keyProblem(p, name); msg != "" {
			c.exprErrorf(keys, n, refPattern(name), "%s", msg)
		}
	}
}

// keyProblem says what is wrong with reading .name in scope sc, or "".
func (sc exprScope) keyProblem(p *Pipeline, name string) string {
	switch {
	case name == "params" || name == "body" || name == "consumer" || name == "errors":
		return "" // .errors: the failed optional steps it sees, or null
	case name == "item" || name == "index":
		return sc.itemProblem(name)
	case name == sc.step:
		return fmt.Sprintf("%s reads .%s, its own result: a step's expressions see only the results of the steps it needs", sc.who, name)
	case p.Steps[name] != nil || slices.Contains(p.StepOrder, name):
		if sc.sees[name] {
			return ""
		}
		return fmt.Sprintf("%s reads .%s, but does not need step %s (%s)", sc.who, name, name, addNeed(p.Steps[sc.step], name))
	}
	hint := "steps: " + strings.Join(p.StepOrder, ", ")
	if close := closest(name, append(slices.Clone(p.StepOrder), "params", "body", "consumer", "errors")); close != "" {
		hint = "did you mean " + close + "?"
	}
	return fmt.Sprintf("%s reads .%s, but there is no step %s (%s)", sc.who, name, name, hint)
}

func (sc exprScope) itemProblem(name string) string {
	switch {
	case sc.items:
		return ""
	case sc.once != "":
		return fmt.Sprintf("%s reads .%s in %s, which is evaluated once, before the items: only path, query, headers and body see .item and .index", sc.who, name, sc.once)
	case sc.step == "":
		return fmt.Sprintf("%s reads .%s, but only the requests of a foreach step see .item and .index", sc.who, name)
	}
	return fmt.Sprintf("%s reads .%s, but it has no foreach: only the requests of a foreach step see .item and .index", sc.who, name)
}

// addNeed says how to fix a missing need of s.
func addNeed(s *Step, name string) string {
	if s == nil || len(s.Needs) == 0 {
		return "add needs: [" + name + "]"
	}
	return "add it: needs: [" + strings.Join(append(slices.Clone(s.Needs), name), ", ") + "]"
}

// checkForeachKind reports a foreach whose value can never be an array.
func (c pctx) checkForeachKind(p *Pipeline, keys []string, e *Expr) {
	if e == nil {
		return
	}
	q, err := gojq.Parse(e.Src)
	if err != nil {
		return
	}
	kind := staticKind(q, p)
	if kind == kindUnknown || kind == kindArray || kind == kindNull {
		return
	}
	src := strings.TrimSpace(e.Src)
	why := ""
	if strings.HasPrefix(src, ".params.") {
		if prm := p.Params[strings.TrimPrefix(src, ".params.")]; prm != nil {
			why = fmt.Sprintf(" (params.%s is type: %s)", strings.TrimPrefix(src, ".params."), prm.Type)
		}
	}
	c.exprErrorf(keys, e.node, nil, "%s is always %s%s: foreach needs an array, one upstream call per element", src, kind, why)
}

// exprErrorf reports an error in the expression written at n: at the
// first match of at in its text when there is one, at n otherwise.
func (c pctx) exprErrorf(keys []string, n ast.Node, at *regexp.Regexp, format string, args ...any) {
	e := &yamlconf.Error{File: c.d.File, Key: joinKeys(keys), Msg: fmt.Sprintf(format, args...)}
	if tok := n.GetToken(); tok != nil && tok.Position != nil {
		e.Line, e.Column = tok.Position.Line, tok.Position.Column
		if at != nil {
			text, _ := stringText(yamlconf.Unwrap(n))
			e.Line, e.Column = refine(c.d.Source, e.Line, e.Column, len(text), at)
		}
	}
	c.l.Errs = append(c.l.Errs, e)
}

// refPattern finds `.name` (or ."name", ["name"], {name}) in source text.
func refPattern(name string) *regexp.Regexp {
	q := regexp.QuoteMeta(name)
	return regexp.MustCompile(`(?:^|[^\w\])?"])(\.` + q + `\b|\."` + q + `"|\["` + q + `"\]|[{,]\s*` + q + `\s*[,}])`)
}

// wordPattern finds a function or variable name in source text.
func wordPattern(name string) *regexp.Regexp {
	if strings.HasPrefix(name, "$") {
		return regexp.MustCompile(`()(` + regexp.QuoteMeta(name) + `)\b`)
	}
	return regexp.MustCompile(`(?:^|[^\w.$])(` + regexp.QuoteMeta(name) + `)\b`)
}

// refine moves a position (line, col: a YAML value's start) to the first
// match of at within the value's text in src, so that an error points at
// the reference inside a long expression. The search is bounded by the
// value's length (and its indentation, for a block scalar); without a
// match the position is kept.
func refine(src []byte, line, col, length int, at *regexp.Regexp) (int, int) {
	start := offsetOf(src, line, col)
	if start < 0 {
		return line, col
	}
	end := min(len(src), start+length+(strings.Count(string(src[start:min(len(src), start+length)]), "\n")+2)*(col+8)+16)
	m := at.FindSubmatchIndex(src[start:end])
	if m == nil {
		return line, col
	}
	return positionOf(src, start+m[2])
}

// offsetOf is the byte offset of a 1-based line and column (in runes).
func offsetOf(src []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(string(src[off:]), '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	for c := 1; c < col && off < len(src) && src[off] != '\n'; c++ {
		_, size := utf8.DecodeRune(src[off:])
		off += size
	}
	return off
}

// positionOf is the 1-based line and column (in runes) of a byte offset.
func positionOf(src []byte, off int) (int, int) {
	line, start := 1, 0
	for i := 0; i < off; i++ {
		if src[i] == '\n' {
			line, start = line+1, i+1
		}
	}
	return line, len([]rune(string(src[start:off]))) + 1
}

// closest is the candidate nearest to name when it is close enough to
// be a typo, as for unknown keys: at most two edits, and fewer than half
// of name's length.
func closest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := yamlconf.EditDistance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" && bestDist < len(name)/2+1 {
		return best
	}
	return ""
}
