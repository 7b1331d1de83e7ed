package pipeline

import (
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
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

var (
	// identifier is the shape of pipeline, step, param and upstream names.
	identifier = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	pathParam  = regexp.MustCompile(`\{([^{}]*)\}`)
	methods    = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}
	// reservedPaths are the gateway's own surfaces.
	reservedPaths = []string{"/openapi.yaml", "/openapi.json", "/.well-known", "/graphql", "/mcp", "/metrics", "/healthz", "/readyz"}
	// reserved names a step cannot take: they are keys of the expression input.
	reserved = map[string]bool{"params": true, "body": true, "consumer": true, "item": true, "index": true}
)

// pctx locates errors inside one pipeline file.
type pctx struct {
	l *loader
	d *doc
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
	v, k := lookup(c.d.body, keys...)
	at := v
	if atKey && k != nil {
		at = k
	}
	for at == nil && len(keys) > 0 {
		keys = keys[:len(keys)-1]
		at, _ = lookup(c.d.body, keys...)
	}
	c.l.errorf(c.d.file, at, path, format, args...)
}

func (l *loader) loadPipeline(d *doc, gw *Gateway) *Pipeline {
	p := &Pipeline{File: d.file, node: d.body}
	if !l.decode(d, p) {
		return nil
	}
	p.ParamOrder = keyOrder(d.body, "params")
	p.StepOrder = keyOrder(d.body, "steps")
	applyPipelineDefaults(p, gw)
	before := len(l.errs)
	c := pctx{l, d}
	c.validatePipeline(p)
	for _, name := range p.ParamOrder {
		c.validateParam(name, p.Params[name])
	}
	for _, name := range p.StepOrder {
		c.validateStep(p, name, gw)
	}
	c.checkCycles(p)
	if len(l.errs) > before {
		return nil
	}
	return p
}

func applyPipelineDefaults(p *Pipeline, gw *Gateway) {
	p.Method = strings.ToUpper(p.Method)
	if p.Method == "" {
		p.Method = "GET"
	}
	if p.Timeout == 0 {
		p.Timeout = Duration(DefaultTimeout)
	}
	if p.Merge == "" && p.Output == nil {
		p.Merge = "group"
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
	}
	for _, s := range p.Steps {
		if s == nil {
			continue
		}
		if u := gw.upstream(s.Upstream); u != nil && u.Kind == "graphql" && s.Method == "" {
			s.Method = "POST"
		}
		s.Method = strings.ToUpper(s.Method)
		if s.Method == "" {
			s.Method = "GET"
		}
		if s.Concurrency == 0 {
			s.Concurrency = DefaultForeach
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
	} else if !identifier.MatchString(p.Name) {
		c.errorf([]string{"name"}, "%q must match %s", p.Name, identifier)
	}
	if n := utf8.RuneCountInString(p.Summary); n > MaxSummary {
		c.errorf([]string{"summary"}, "%d characters, at most %d", n, MaxSummary)
	}
	if n := utf8.RuneCountInString(p.Description); n > MaxDescription {
		c.errorf([]string{"description"}, "%d characters, at most %d", n, MaxDescription)
	}
	if !methods[p.Method] {
		c.errorf([]string{"method"}, "%q: want GET, POST, PUT, PATCH or DELETE", p.Method)
	}
	if p.Body != nil && p.Method == "GET" {
		c.keyErrorf([]string{"body"}, "a GET pipeline takes no body")
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
		prm := p.Params[name]
		switch {
		case !identifier.MatchString(name):
			c.errorf([]string{"path"}, "path parameter {%s} must match %s", name, identifier)
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

func (c pctx) validateStep(p *Pipeline, name string, gw *Gateway) {
	s := p.Steps[name]
	key := func(k ...string) []string { return append([]string{"steps", name}, k...) }
	if s == nil {
		c.errorf(key(), "empty step")
		return
	}
	if !identifier.MatchString(name) || reserved[name] {
		c.keyErrorf(key(), "step name %q must match %s and not be one of params, body, consumer, item, index", name, identifier)
	}
	u := gw.upstream(s.Upstream)
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
	if s.Body != nil && (s.Method == "GET" || u != nil && u.Kind == "graphql") {
		c.keyErrorf(key("body"), "a GET or graphql step takes no body")
	}
	if s.Concurrency < 0 || s.Concurrency > 64 {
		c.errorf(key("concurrency"), "want 1 to 64, got %d", s.Concurrency)
	}
	if s.Stale != nil && s.Cache == 0 {
		c.keyErrorf(key("stale"), "stale needs cache")
	}
	for i, n := range s.Needs {
		if p.Steps[n] == nil || n == name {
			c.errorf(key("needs"), "unknown step %q in needs[%d] (steps: %s)", n, i, strings.Join(p.StepOrder, ", "))
		}
	}
	for h := range s.Headers {
		if strings.ContainsAny(h, "\r\n: ") {
			c.errorf(key("headers"), "invalid header name %q", h)
		}
	}
}

func upstreamNames(gw *Gateway) string {
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
		for _, m := range p.Steps[n].Needs {
			if p.Steps[m] == nil {
				continue
			}
			switch state[m] {
			case visiting:
				i := indexOf(stack, m)
				cycle := append(append([]string{}, stack[i:]...), m)
				c.errorf([]string{"steps", n, "needs"}, "needs cycle: %s", strings.Join(cycle, " -> "))
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
