package pipeline

import (
	"errors"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Plan is a loaded, validated and compiled pipeline directory. It is
// immutable: a reload builds a new Plan and swaps it in whole.
type Plan struct {
	Dir       string
	Gateway   *gateway.Config
	Pipelines []*Compiled // sorted by name
	// Warnings are what the loader found suspect but not wrong (a field
	// an upstream's schema lacks, a query parameter its document does
	// not list): `manifold validate` prints them, serve logs them.
	Warnings yamlconf.Errors
	byName   map[string]*Compiled
}

// Pipeline returns the compiled pipeline called name, or nil.
func (p *Plan) Pipeline(name string) *Compiled { return p.byName[name] }

// Compiled is a pipeline ready to run: expressions compiled, steps ordered.
type Compiled struct {
	*Pipeline
	steps    []*step // in declaration order
	output   *program
	truncate *program
	// optional is set when a step is optional: output sees .errors.
	optional bool
	// readsClaims: see ReadsClaims.
	readsClaims bool
	// inferred and typed: see InferredSchema.
	inferred map[string]any
	typed    bool
	// groupOrder is the steps by name, the default merge's order, when
	// some step is raw (see markRaw).
	groupOrder []*step
}

// StepNames returns the step names in declaration order.
func (c *Compiled) StepNames() []string { return c.StepOrder }

type step struct {
	name      string
	index     int
	cfg       *Step
	upstream  string
	graphql   bool
	method    string
	needs     []int
	sees      []string // names of the steps it needs, transitively
	when      *program
	foreach   *program
	sel       *program
	path      *pathT
	query     []named
	headers   []named
	body      tmpl
	document  string
	variables tmpl
	cacheTTL  time.Duration
	staleTTL  time.Duration
	relay     []string // canonical names of the headers relayed to the caller
	// seesOptional is set when an optional step is among sees: the step's
	// expressions see .errors.
	seesOptional bool
	forward      *forwardRule // the caller's headers it forwards; nil: none
	via          bool         // send X-Forwarded-* (the upstream's forwarded)
	// callerItems: the foreach's elements come from the caller (see
	// callerItems), who is then to blame for too many.
	callerItems bool
	// raw: the answer goes into the merge whole and nowhere else, so it
	// is never decoded (see markRaw); groupKey is its "name": there.
	raw      bool
	groupKey []byte
}

type named struct {
	name string
	t    tmpl
}

func (l *loader) compile(gw *gateway.Config, ps []*Pipeline) *Plan {
	plan := &Plan{Dir: l.Dir, Gateway: gw, byName: map[string]*Compiled{}}
	for _, p := range ps {
		c := pctx{l: l, d: &yamlconf.Doc{File: p.File, Body: p.node, Source: p.source}, pipeline: p}
		if cp := c.compilePipeline(p, gw); cp != nil {
			plan.Pipelines = append(plan.Pipelines, cp)
			plan.byName[p.Name] = cp
		}
	}
	if len(l.Errs) > 0 {
		return nil
	}
	sort.Slice(plan.Pipelines, func(i, j int) bool { return plan.Pipelines[i].Name < plan.Pipelines[j].Name })
	return plan
}

// fail reports a compile error; a yamlconf.NodeError keeps its own position.
func (c pctx) fail(keys []string, err error) {
	var impure *impureError
	if errors.As(err, &impure) {
		return // checkExprs reports each name at its place
	}
	var ne *yamlconf.NodeError
	if errors.As(err, &ne) {
		e := yamlconf.Located(c.d.File, ne.Tok, ne.Msg)
		e.Key = joinKeys(keys)
		c.l.Errs = append(c.l.Errs, e)
		return
	}
	c.errorf(keys, "%v", err)
}

func joinKeys(keys []string) string {
	out := ""
	for _, k := range keys {
		out = yamlconf.Join(out, k)
	}
	return out
}

func (c pctx) jq(keys []string, e *Expr) *program {
	if e == nil {
		return nil
	}
	prog, err := compileJQ(e.Src)
	var impure *impureError
	if err != nil && !errors.As(err, &impure) {
		c.fail(keys, yamlconf.ErrAt(e.node, "%v", err))
		return nil
	}
	if prog != nil {
		prog.at = nodeAt(e.node)
		prog.at.file, prog.at.key = c.d.File, joinKeys(keys)
	}
	return prog
}

func (c pctx) template(keys []string, t *Template) tmpl {
	if t == nil {
		return nil
	}
	if c.pipeline != nil && t.node != nil {
		c.checkParamRefs(c.pipeline, keys, t.node, t.node.String())
	}
	out, err := compileTemplate(t.node)
	if err != nil {
		c.fail(keys, err)
	}
	locate(out, c.d.File, joinKeys(keys))
	return out
}

func (c pctx) compilePipeline(p *Pipeline, gw *gateway.Config) *Compiled {
	before := len(c.l.Errs)
	cp := &Compiled{
		Pipeline: p,
		output:   c.jq([]string{"output"}, c.params(p, []string{"output"}, p.Output)),
		truncate: c.jq([]string{"truncate"}, p.Truncate),

		readsClaims: readsClaims(p),
	}
	index := map[string]int{}
	for i, name := range p.StepOrder {
		index[name] = i
	}
	for i, name := range p.StepOrder {
		cp.steps = append(cp.steps, c.compileStep(p, name, i, index, gw))
		cp.optional = cp.optional || p.Steps[name].Optional
	}
	c.checkPathDefaults(p)
	c.checkExprs(p)
	if len(c.l.Errs) == before {
		c.typecheck(cp, gw)
	}
	if len(c.l.Errs) > before {
		return nil
	}
	cp.markRaw()
	return cp
}

func (c pctx) compileStep(p *Pipeline, name string, i int, index map[string]int, gw *gateway.Config) *step {
	s := p.Steps[name]
	key := func(k ...string) []string { return append([]string{"steps", name}, k...) }
	u := gw.Upstream(s.Upstream) // nil only when gateway.yaml is broken
	st := &step{
		name:     name,
		index:    i,
		cfg:      s,
		upstream: s.Upstream,
		graphql:  u != nil && u.Kind == "graphql",
		method:   s.Method,
		when:     c.jq(key("when"), c.params(p, key("when"), s.When)),
		foreach:  c.jq(key("foreach"), c.params(p, key("foreach"), s.Foreach)),
		sel:      c.jq(key("select"), s.Select),
		body:     c.template(key("body"), s.Body),
		cacheTTL: s.Cache.D(),
		relay:    relayNames(s, p.Proxy),
	}
	if s.Stale != nil {
		st.staleTTL = s.Stale.D()
	}
	st.forward, st.via = forwarding(p, s, gw, u)
	for _, n := range s.Needs {
		st.needs = append(st.needs, index[n])
	}
	st.sees = transitiveNeeds(p, name)
	st.callerItems = callerItems(s.Foreach, st.sees)
	for _, n := range st.sees {
		st.seesOptional = st.seesOptional || p.Steps[n].Optional
	}
	if st.graphql {
		st.document = s.Query.Document
		st.variables = c.template(key("variables"), s.Variables)
		return st
	}
	if s.Path != nil {
		c.checkParamRefs(p, key("path"), s.Path.node, s.Path.node.String())
		path, err := compilePath(s.Path.node)
		if err != nil {
			c.fail(key("path"), err)
		} else {
			c.pathParams(p, key("path"), s, path)
			locate(path, c.d.File, joinKeys(key("path")))
		}
		st.path = path
	}
	if s.Query != nil {
		for _, qn := range s.Query.Order {
			st.query = append(st.query, named{qn, c.template(key("query", qn), s.Query.Params[qn])})
		}
	}
	for _, hn := range sortedKeys(s.Headers) {
		t := c.template(key("headers", hn), s.Headers[hn])
		if t == nil {
			t = constT{} // `X-Name:` with no value: the header is not sent
		}
		st.headers = append(st.headers, named{hn, t})
	}
	if p.Proxy {
		st.headers = acceptAnything(st.headers)
	}
	return st
}

// transitiveNeeds lists, in declaration order, every step that name needs
// directly or indirectly: exactly the results its expressions can see.
func transitiveNeeds(p *Pipeline, name string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		for _, m := range p.Steps[n].Needs {
			if !seen[m] {
				seen[m] = true
				walk(m)
			}
		}
	}
	walk(name)
	var out []string
	for _, n := range p.StepOrder {
		if seen[n] {
			out = append(out, n)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// paramRef finds `.params.NAME` in an expression's source.
var paramRef = regexp.MustCompile(`\.params\.([A-Za-z_][A-Za-z0-9_]*)`)

// params checks e's references to .params (for jq that sees the run's
// input, not an upstream's answer) and returns e.
func (c pctx) params(p *Pipeline, keys []string, e *Expr) *Expr {
	if e != nil {
		c.checkParamRefs(p, keys, e.node, e.Src)
	}
	return e
}

// checkParamRefs reports a `.params.NAME` that names no declared
// parameter: at run time it would silently be null.
func (c pctx) checkParamRefs(p *Pipeline, keys []string, n ast.Node, src string) {
	for _, m := range paramRef.FindAllStringSubmatch(src, -1) {
		if _, ok := p.Params[m[1]]; !ok {
			declared := "none"
			if len(p.ParamOrder) > 0 {
				declared = strings.Join(p.ParamOrder, ", ")
			}
			c.fail(keys, yamlconf.ErrAt(n, "unknown parameter .params.%s (declared: %s)", m[1], declared))
		}
	}
}

// onlyParam matches an interpolation that is one parameter alone.
var onlyParam = regexp.MustCompile(`^\s*\.params\.([A-Za-z_][A-Za-z0-9_]*)\s*$`)

// pathParams marks the parameters a step path interpolates, directly or
// through the items of the step's foreach: their values are checked to
// stay inside their segment when a call's input is parsed, so a caller's
// bad value is a 400 before anything runs rather than a refused upstream
// call. A parameter with allow_slashes must be interpolated alone; it is
// then escaped as a path tail.
func (c pctx) pathParams(p *Pipeline, keys []string, s *Step, path *pathT) {
	path.tails = make([]bool, len(path.progs))
	for i, prog := range path.progs {
		markPathRefs(p, prog.src)
		if s.Foreach != nil && strings.Contains(prog.src, ".item") {
			markPathRefs(p, s.Foreach.Src)
		}
		if m := onlyParam.FindStringSubmatch(prog.src); m != nil && p.Params[m[1]] != nil && p.Params[m[1]].AllowSlashes {
			path.tails[i] = true
			continue
		}
		for _, m := range paramRef.FindAllStringSubmatch(prog.src, -1) {
			if prm := p.Params[m[1]]; prm != nil && prm.AllowSlashes {
				c.errorf(keys, "params.%s allows slashes, so it must be interpolated alone: ${ .params.%s }", m[1], m[1])
			}
		}
	}
}

// markPathRefs marks the parameters src reads as path values. When src
// reads .params other than as .params.NAME (.params[$k], .params | ...),
// which parameter ends up in the path cannot be told: all are marked.
func markPathRefs(p *Pipeline, src string) {
	refs := paramRef.FindAllStringSubmatch(src, -1)
	if strings.Count(src, ".params") > len(refs) {
		for _, prm := range p.Params {
			if prm != nil {
				prm.segment = true
			}
		}
		return
	}
	for _, m := range refs {
		if prm := p.Params[m[1]]; prm != nil {
			prm.segment = true
		}
	}
}

// checkPathDefaults reports a default that a step path could not use: the
// run would refuse it on every call that leaves the parameter out.
func (c pctx) checkPathDefaults(p *Pipeline) {
	for _, name := range p.ParamOrder {
		prm := p.Params[name]
		if prm == nil || !prm.segment {
			continue
		}
		if d, ok := prm.Default.(string); ok {
			if reason := segmentProblem(d, prm.AllowSlashes); reason != "" {
				c.errorf([]string{"params", name, "default"}, "%q %s", d, reason)
			}
		}
	}
}
