package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Limits that assistants enforce, checked at load time.
const (
	MaxSummary          = 300
	MaxDescription      = 300
	MaxParamDescription = 700
	MaxTimeout          = 40 * time.Second // ChatGPT gives up at 45s
	DefaultTimeout      = 10 * time.Second
	DefaultForeach      = 8
)

// What a pipeline does with query parameters it does not declare
// (Pipeline.UnknownQuery).
const (
	UnknownQueryIgnore = "ignore"
	UnknownQueryReject = "reject"
)

var (
	pathParam = regexp.MustCompile(`\{([^{}]*)\}`)
	methods   = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}
	// reservedPaths are the gateway's own surfaces.
	reservedPaths = []string{"/openapi.yaml", "/openapi.json", "/.well-known", "/graphql", "/mcp", "/metrics", "/healthz", "/readyz"}
	// reserved names a step cannot take: they are keys of the expression input.
	reserved = map[string]bool{"params": true, "body": true, "consumer": true, "item": true, "index": true, "errors": true}
)

// pctx locates errors inside one pipeline file.
type pctx struct {
	l        *loader
	d        *yamlconf.Doc
	pipeline *Pipeline // set while compiling: templates check their .params
}

// errorf reports an error at the value of keys (at the nearest present
// parent when the key is absent).
func (c pctx) errorf(keys []string, format string, args ...any) {
	c.report(keys, false, format, args...)
}

// keyErrorf reports an error at the key itself, for problems of presence.
func (c pctx) keyErrorf(keys []string, format string, args ...any) {
	c.report(keys, true, format, args...)
}

func (c pctx) report(keys []string, atKey bool, format string, args ...any) {
	path := strings.Join(keys, ".")
	v, k := yamlconf.Lookup(c.d.Body, keys...)
	at := v
	if k != nil && (atKey || yamlconf.IsMapping(v)) {
		// A block mapping's own position is the colon of its first entry.
		at = k
	}
	// An absent key belongs under the nearest parent that is present.
	for at == nil && len(keys) > 0 {
		keys = keys[:len(keys)-1]
		_, at = yamlconf.Lookup(c.d.Body, keys...)
	}
	if at == nil {
		at = yamlconf.FirstKey(c.d.Body)
	}
	c.l.Errorf(c.d.File, at, path, format, args...)
}

// errorAt reports an error at node at (an element of a list, say) under
// the dotted key path key.
func (c pctx) errorAt(at ast.Node, key string, format string, args ...any) {
	c.l.Errorf(c.d.File, at, key, format, args...)
}

// elem returns the i-th element of the list at keys, or the list itself
// when it has no such element.
func (c pctx) elem(keys []string, i int) ast.Node {
	v, _ := yamlconf.Lookup(c.d.Body, keys...)
	if seq, ok := yamlconf.Unwrap(v).(*ast.SequenceNode); ok && i < len(seq.Values) {
		return seq.Values[i]
	}
	return v
}

func (l *loader) loadPipeline(d *yamlconf.Doc, gw *gateway.Config) *Pipeline {
	p := &Pipeline{File: d.File, node: d.Body, source: d.Source}
	if !l.Decode(d, p) {
		return nil
	}
	p.ParamOrder = yamlconf.KeyOrder(d.Body, "params")
	p.StepOrder = yamlconf.KeyOrder(d.Body, "steps")
	sum := sha256.Sum256(d.Source)
	p.SHA256 = hex.EncodeToString(sum[:])
	applyPipelineDefaults(p, gw)
	before := len(l.Errs)
	c := pctx{l: l, d: d}
	c.validatePipeline(p)
	for _, name := range p.ParamOrder {
		c.validateParam(name, p.Params[name])
	}
	c.checkWireNames(p)
	for _, name := range p.StepOrder {
		c.validateStep(p, name, gw)
	}
	c.checkCycles(p)
	c.validateRelay(p, gw)
	c.validateCacheControl(p)
	c.validateFanout(p)
	if len(l.Errs) > before {
		return nil
	}
	return p
}

func applyPipelineDefaults(p *Pipeline, gw *gateway.Config) {
	p.Method = strings.ToUpper(p.Method)
	if p.Method == "" {
		p.Method = "GET"
	}
	if p.Timeout == 0 {
		p.Timeout = yamlconf.Duration(DefaultTimeout)
	}
	if p.Merge == "" && p.Output == nil && !p.Proxy { // a proxy merges nothing
		p.Merge = "group"
	}
	if p.UnknownQuery == "" {
		p.UnknownQuery = UnknownQueryIgnore
	}
	if p.MaxCalls == nil {
		p.MaxCalls = intPtr(DefaultMaxCalls)
	}
	if p.Access == nil && gw != nil {
		p.Access = gw.Defaults.Access
	}
	for _, prm := range p.Params {
		if prm == nil {
			continue
		}
		if prm.In == "" {
			prm.In = "query"
		}
		if prm.Type == "" {
			prm.Type = "string"
		}
		applyArrayDefaults(prm)
	}
	for _, s := range p.Steps {
		if s == nil {
			continue
		}
		if u := gw.Upstream(s.Upstream); u != nil && u.Kind == "graphql" && s.Method == "" {
			s.Method = "POST"
		}
		s.Method = strings.ToUpper(s.Method)
		if s.Method == "" {
			s.Method = "GET"
		}
		if s.Concurrency == 0 {
			s.Concurrency = DefaultForeach
		}
		if s.MaxItems == nil && s.Foreach != nil {
			s.MaxItems = intPtr(DefaultMaxItems)
		}
		if s.Cache > 0 && s.Stale == nil {
			stale := 10 * s.Cache
			s.Stale = &stale
		}
	}
}

func (c pctx) validatePipeline(p *Pipeline) {
	if p.Name == "" {
		c.errorf([]string{"name"}, "required")
	} else if !yamlconf.Identifier.MatchString(p.Name) {
		c.errorf([]string{"name"}, "%q must match %s", p.Name, yamlconf.Identifier)
	}
	if n := utf8.RuneCountInString(p.Summary); n > MaxSummary {
		c.errorf([]string{"summary"}, "%d characters is too long: assistants accept at most %d", n, MaxSummary)
	}
	if n := utf8.RuneCountInString(p.Description); n > MaxDescription {
		c.errorf([]string{"description"}, "%d characters is too long: assistants accept at most %d", n, MaxDescription)
	}
	if !methods[p.Method] {
		c.errorf([]string{"method"}, "%q: want GET, POST, PUT, PATCH or DELETE", p.Method)
	}
	if p.Body != nil && p.Method == "GET" {
		c.keyErrorf([]string{"body"}, "a GET pipeline takes no body")
	}
	if p.Cache > 0 && p.Method != "GET" {
		c.errorf([]string{"cache"}, "only GET pipelines are cached; %s answers are never reused", p.Method)
	}
	if p.Timeout.D() > MaxTimeout {
		c.errorf([]string{"timeout"}, "%s is over the limit of %s (assistants give up at 45s)", p.Timeout.D(), MaxTimeout)
	}
	if p.Merge != "" && p.Merge != "group" && p.Merge != "deep" {
		c.errorf([]string{"merge"}, "%q: want group or deep", p.Merge)
	}
	if p.Output != nil && p.Merge != "" {
		c.keyErrorf([]string{"merge"}, "merge and output cannot both be set")
	}
	if p.UnknownQuery != UnknownQueryIgnore && p.UnknownQuery != UnknownQueryReject && p.UnknownQuery != UnknownQueryForward {
		c.errorf([]string{"unknown_query"}, "%q: want ignore, reject or forward", p.UnknownQuery)
	}
	if len(p.Steps) == 0 {
		c.errorf([]string{"steps"}, "a pipeline needs at least one step")
	}
	c.validatePath(p)
}

func (c pctx) validatePath(p *Pipeline) {
	if p.Path == "" {
		c.errorf([]string{"path"}, "required")
		return
	}
	if !strings.HasPrefix(p.Path, "/") || strings.ContainsAny(p.Path, "?# ") {
		c.errorf([]string{"path"}, "%q must begin with / and hold no query, fragment or spaces", p.Path)
		return
	}
	if len(p.Path) > 1 && strings.HasSuffix(p.Path, "/") || strings.Contains(p.Path, "//") {
		c.errorf([]string{"path"}, "%q must not end with / or hold an empty segment", p.Path)
		return
	}
	for _, prefix := range reservedPaths {
		if p.Path == prefix || strings.HasPrefix(p.Path, prefix+"/") {
			c.errorf([]string{"path"}, "%q is reserved for the gateway (%s)", p.Path, strings.Join(reservedPaths, ", "))
			return
		}
	}
	inPath := map[string]bool{}
	for _, m := range pathParam.FindAllStringSubmatch(p.Path, -1) {
		name := m[1]
		inPath[name] = true
		prm, declared := p.Params[name]
		switch {
		case !yamlconf.Identifier.MatchString(name):
			c.errorf([]string{"path"}, "path parameter {%s} must match %s", name, yamlconf.Identifier)
		case declared && prm == nil:
			// reported as an empty parameter
		case prm == nil:
			c.errorf([]string{"path"}, "path parameter {%s} is not declared in params", name)
		case prm.In != "path":
			c.errorf([]string{"params", name, "in"}, "{%s} appears in the path, so it must be `in: path`", name)
		}
	}
	for name, prm := range p.Params {
		if prm != nil && prm.In == "path" && !inPath[name] {
			c.errorf([]string{"params", name, "in"}, "path parameter %q does not appear in path %q", name, p.Path)
		}
	}
}

func (c pctx) validateStep(p *Pipeline, name string, gw *gateway.Config) {
	s := p.Steps[name]
	key := func(k ...string) []string { return append([]string{"steps", name}, k...) }
	if s == nil {
		c.keyErrorf(key(), "empty step: a step needs at least upstream and path (or query for graphql)")
		return
	}
	switch {
	case !yamlconf.Identifier.MatchString(name):
		c.keyErrorf(key(), "step name %q must match %s", name, yamlconf.Identifier)
	case reserved[name]:
		c.keyErrorf(key(), "step name %q is reserved: expressions see params, body, consumer, item, index and errors under these names; rename the step", name)
	}
	u := gw.Upstream(s.Upstream)
	switch {
	case s.Upstream == "":
		c.errorf(key("upstream"), "required")
	case gw == nil:
		// gateway.yaml is broken and says so; the upstream's kind is unknown.
	case u == nil:
		c.errorf(key("upstream"), "unknown upstream %q (gateway.yaml declares: %s)", s.Upstream, upstreamNames(gw))
	case u.Kind == "graphql":
		if s.Query == nil || s.Query.Document == "" {
			c.errorf(key("query"), "a graphql upstream needs query: a GraphQL document")
		}
		if s.Path != nil {
			c.keyErrorf(key("path"), "a graphql step takes query and variables, not path")
		}
	default:
		if s.Path == nil {
			c.errorf(key("path"), "required")
		}
		if s.Query != nil && s.Query.Params == nil {
			c.errorf(key("query"), "an http step's query is a map of query parameters")
		}
		if s.Variables != nil {
			c.keyErrorf(key("variables"), "variables is only for graphql upstreams")
		}
	}
	if !methods[s.Method] {
		c.errorf(key("method"), "%q: want GET, POST, PUT, PATCH or DELETE", s.Method)
	}
	switch {
	case s.Body != nil && u != nil && u.Kind == "graphql":
		c.keyErrorf(key("body"), "a graphql step sends query and variables, not body")
	case s.Body != nil && s.Method == "GET":
		c.keyErrorf(key("body"), "a GET step takes no body: set method: POST, PUT or PATCH")
	}
	if s.Concurrency < 0 || s.Concurrency > 64 {
		c.errorf(key("concurrency"), "want 1 to 64, got %d", s.Concurrency)
	}
	if s.Stale != nil && s.Cache == 0 {
		c.keyErrorf(key("stale"), "stale needs cache")
	}
	for i, n := range s.Needs {
		at, k := c.elem(key("needs"), i), fmt.Sprintf("steps.%s.needs[%d]", name, i)
		switch {
		case n == name:
			c.errorAt(at, k, "step %q cannot need itself", n)
		case p.Steps[n] == nil:
			c.errorAt(at, k, "unknown step %q (steps: %s)", n, strings.Join(p.StepOrder, ", "))
		}
	}
	for h := range s.Headers {
		if strings.ContainsAny(h, "\r\n: ") {
			c.errorf(key("headers"), "invalid header name %q", h)
		}
	}
	c.validateOnStatus(name, s)
}

func upstreamNames(gw *gateway.Config) string {
	var names []string
	for n := range gw.Upstreams {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// checkCycles reports each `needs` cycle once, at a step in it.
func (c pctx) checkCycles(p *Pipeline) {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(string)
	visit = func(n string) {
		state[n] = visiting
		stack = append(stack, n)
		for j, m := range p.Steps[n].Needs {
			if p.Steps[m] == nil || m == n { // reported by validateStep
				continue
			}
			switch state[m] {
			case visiting:
				i := indexOf(stack, m)
				cycle := append(append([]string{}, stack[i:]...), m)
				c.errorAt(c.elem([]string{"steps", n, "needs"}, j), fmt.Sprintf("steps.%s.needs[%d]", n, j),
					"needs cycle: %s", strings.Join(cycle, " -> "))
			case unvisited:
				visit(m)
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
	}
	for _, n := range p.StepOrder {
		if state[n] == unvisited && p.Steps[n] != nil {
			visit(n)
		}
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
