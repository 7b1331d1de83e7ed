package pipeline

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// nodeError is a decode error that knows the YAML token it is about.
// goccy/go-yaml passes errors of custom unmarshalers through unchanged, so
// the loader turns this into a located Error.
type nodeError struct {
	node ast.Node
	tok  *token.Token
	msg  string
}

func (e *nodeError) Error() string { return e.msg }

func errAt(n ast.Node, format string, args ...any) error {
	return &nodeError{node: n, tok: n.GetToken(), msg: fmt.Sprintf(format, args...)}
}

// quoteShort quotes a string for a message, shortened when long.
func quoteShort(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}

// describe names the kind of a YAML node for "want X, got Y" messages.
func describe(n ast.Node) string {
	switch v := unwrap(n).(type) {
	case nil, *ast.NullNode:
		return "null"
	case *ast.StringNode:
		return quoteShort(v.Value)
	case *ast.LiteralNode:
		return quoteShort(v.Value.Value)
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode, *ast.BoolNode:
		return v.GetToken().Value
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.AliasNode:
		return fmt.Sprintf("the alias %s (aliases are not supported here: write the value out)", v.GetToken().Value+v.Value.GetToken().Value)
	}
	return strings.ToLower(n.Type().String())
}

// scalarString returns the text of a scalar node, or an error naming what
// was expected.
func scalarString(n ast.Node, what string) (string, error) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return n.GetToken().Value, nil
	}
	return "", errAt(n, "want %s, got %s", what, describe(n))
}

// Duration is a YAML duration string such as "800ms", "3s" or "5m".
type Duration time.Duration

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	n = unwrap(n) // tags such as !!str
	if _, null := n.(*ast.NullNode); null {
		*d = 0 // written but empty: not set
		return nil
	}
	s, err := scalarString(n, `a duration such as "800ms" or "5m"`)
	if err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return errAt(n, "invalid duration %q: want a duration such as \"800ms\" or \"5m\"", s)
	}
	*d = Duration(v)
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Size is a byte size: a plain number of bytes or a number with a unit
// (KB, MB, GB; KiB, MiB, GiB).
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (s *Size) UnmarshalYAML(n ast.Node) error {
	n = unwrap(n) // tags such as !!str
	if _, null := n.(*ast.NullNode); null {
		*s = 0 // written but empty: not set
		return nil
	}
	text, err := scalarString(n, `a size such as "1MiB"`)
	if err != nil {
		return err
	}
	v, ok := parseSize(text)
	if !ok {
		return errAt(n, "invalid size %q: want bytes or a number with KB, MB, GB, KiB, MiB or GiB", text)
	}
	*s = Size(v)
	return nil
}

func parseSize(text string) (int64, bool) {
	t := strings.TrimSpace(text)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || !(f >= 0) || f*float64(mult) > math.MaxInt64/2 { // !(f >= 0) also refuses NaN
		return 0, false
	}
	return int64(f * float64(mult)), true
}

// Rate is a request rate such as "60/min", with an optional burst
// ("60/min burst 10"); the burst defaults to the count.
type Rate struct {
	Count  int
	Per    time.Duration
	Burst  int
	source string
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (r *Rate) UnmarshalYAML(n ast.Node) error {
	n = unwrap(n) // tags such as !!str
	text, err := scalarString(n, `a rate such as "60/min"`)
	if err != nil {
		return err
	}
	v, ok := parseRate(text)
	if !ok {
		return errAt(n, "invalid rate %q: want N/sec, N/min or N/hour, optionally followed by \"burst N\"", text)
	}
	*r = v
	return nil
}

func parseRate(text string) (Rate, bool) {
	fields := strings.Fields(text)
	if len(fields) != 1 && !(len(fields) == 3 && fields[1] == "burst") {
		return Rate{}, false
	}
	count, unit, ok := strings.Cut(fields[0], "/")
	if !ok {
		return Rate{}, false
	}
	c, err := strconv.Atoi(count)
	if err != nil || c <= 0 {
		return Rate{}, false
	}
	per := map[string]time.Duration{
		"s": time.Second, "sec": time.Second, "second": time.Second,
		"m": time.Minute, "min": time.Minute, "minute": time.Minute,
		"h": time.Hour, "hour": time.Hour,
	}[unit]
	if per == 0 {
		return Rate{}, false
	}
	r := Rate{Count: c, Per: per, Burst: c, source: text}
	if len(fields) == 3 {
		b, err := strconv.Atoi(fields[2])
		if err != nil || b <= 0 {
			return Rate{}, false
		}
		r.Burst = b
	}
	return r, true
}

// String returns the rate as written.
func (r Rate) String() string { return r.source }

// Access is who may call a pipeline: `public`, or roles and a rate.
type Access struct {
	Public bool
	Roles  []string
	Rate   *Rate
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (a *Access) UnmarshalYAML(n ast.Node) error {
	n = unwrap(n) // tags such as !!str
	if s, ok := n.(*ast.StringNode); ok {
		if s.Value != "public" {
			return errAt(n, "invalid access %q: want `public` or {roles: [...], rate: ...}", s.Value)
		}
		*a = Access{Public: true}
		return nil
	}
	if !isMapping(n) {
		return errAt(n, "invalid access: want `public` or {roles: [...], rate: ...}, got %s", describe(n))
	}
	*a = Access{}
	for _, kv := range entries(n) {
		switch key := keyName(kv); key {
		case "public": // {public: true, rate: ...}: open, but rate-limited
			b, ok := kv.Value.(*ast.BoolNode)
			if !ok {
				return errAt(kv.Value, "want true or false, got %s", describe(kv.Value))
			}
			a.Public = b.Value
		case "roles":
			roles, err := stringList(kv.Value)
			if err != nil {
				return err
			}
			a.Roles = roles
		case "rate":
			a.Rate = new(Rate)
			if err := a.Rate.UnmarshalYAML(kv.Value); err != nil {
				return err
			}
		default:
			return errAt(kv.Key, "unknown key %q in access (known: public, roles, rate)", key)
		}
	}
	if a.Public && len(a.Roles) > 0 {
		return errAt(n, "access cannot be public and require roles")
	}
	return nil
}

func stringList(n ast.Node) ([]string, error) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		return nil, errAt(n, "want a list of strings, got %s", describe(n))
	}
	out := make([]string, 0, len(seq.Values))
	for _, v := range seq.Values {
		s, ok := v.(*ast.StringNode)
		if !ok {
			return nil, errAt(v, "want a string, got %s", describe(v))
		}
		out = append(out, s.Value)
	}
	return out, nil
}

func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NullNode:
		return n.GetToken().Value, true
	}
	return "", false
}

// Expr is a jq expression written as a plain YAML string (select, when,
// foreach, output, truncate). It is compiled when the plan is built.
type Expr struct {
	Src  string
	node ast.Node
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (e *Expr) UnmarshalYAML(n ast.Node) error {
	n = unwrap(n) // tags such as !!str
	s, ok := scalarText(n)
	if !ok {
		return errAt(n, "want a jq expression (a string), got %s", describe(n))
	}
	*e = Expr{Src: s, node: n}
	return nil
}

// Template is any YAML value whose strings may hold `${ jq }`
// interpolations (path, query and header values, body, variables). It keeps
// its YAML node and is compiled when the plan is built.
type Template struct {
	node ast.Node
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (t *Template) UnmarshalYAML(n ast.Node) error {
	t.node = n
	return nil
}

// StepQuery is a step's `query`: a map of query parameters for an http
// upstream, or a GraphQL document for a graphql one.
type StepQuery struct {
	Params   map[string]*Template
	Order    []string // parameter names in the order written
	Document string
	node     ast.Node
}

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (q *StepQuery) UnmarshalYAML(n ast.Node) error {
	n = unwrap(n) // tags such as !!str
	*q = StepQuery{node: n}
	if s, ok := scalarText(n); ok {
		q.Document = s
		return nil
	}
	m, ok := n.(*ast.MappingNode)
	if !ok {
		return errAt(n, "want a map of query parameters (http) or a GraphQL document (graphql), got %s", describe(n))
	}
	q.Params = make(map[string]*Template, len(m.Values))
	for _, kv := range m.Values {
		name := keyName(kv)
		if _, dup := q.Params[name]; dup {
			return errAt(kv.Key, "duplicate query parameter %q", name)
		}
		q.Params[name] = &Template{node: kv.Value}
		q.Order = append(q.Order, name)
	}
	return nil
}
