package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// tmpl is a compiled Template: rendering it against an expression input
// gives a JSON value.
type tmpl interface {
	render(ctx context.Context, in any) (any, error)
}

type constT struct{ v any }

// exprT is a string that is exactly one `${ }`: it keeps the JSON type of
// its value.
type exprT struct{ p *program }

// concatT is text with interpolations: lits has one more element than progs.
type concatT struct {
	lits  []string
	progs []*program
}

type objectT struct {
	keys []string
	vals []tmpl
}

type arrayT []tmpl

func (t constT) render(context.Context, any) (any, error) { return t.v, nil }

func (t exprT) render(ctx context.Context, in any) (any, error) { return t.p.eval(ctx, in) }

func (t concatT) render(ctx context.Context, in any) (any, error) {
	return t.join(ctx, in, func(_ int, v any) string { return stringify(v) })
}

// join renders the interpolations, passes each (with its index) through
// conv, and joins them with the literal text.
func (t concatT) join(ctx context.Context, in any, conv func(i int, v any) string) (string, error) {
	var b strings.Builder
	for i, lit := range t.lits {
		b.WriteString(lit)
		if i == len(t.progs) {
			break
		}
		v, err := t.progs[i].eval(ctx, in)
		if err != nil {
			return "", err
		}
		b.WriteString(conv(i, v))
	}
	return b.String(), nil
}

func (t objectT) render(ctx context.Context, in any) (any, error) {
	out := make(map[string]any, len(t.keys))
	for i, k := range t.keys {
		v, err := t.vals[i].render(ctx, in)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func (t arrayT) render(ctx context.Context, in any) (any, error) {
	out := make([]any, len(t))
	for i, e := range t {
		v, err := e.render(ctx, in)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// compileTemplate compiles a YAML value whose strings may interpolate jq.
func compileTemplate(n ast.Node) (tmpl, error) {
	n = yamlconf.Unwrap(n)
	if s, ok := stringText(n); ok {
		return compileString(n, s)
	}
	switch v := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		var obj objectT
		for _, kv := range yamlconf.Entries(v) {
			val, err := compileTemplate(kv.Value)
			if err != nil {
				return nil, err
			}
			obj.keys = append(obj.keys, yamlconf.KeyName(kv))
			obj.vals = append(obj.vals, val)
		}
		return obj, nil
	case *ast.SequenceNode:
		arr := make(arrayT, 0, len(v.Values))
		for _, e := range v.Values {
			val, err := compileTemplate(e)
			if err != nil {
				return nil, err
			}
			arr = append(arr, val)
		}
		return arr, nil
	case *ast.NullNode, nil:
		return constT{}, nil
	case *ast.AliasNode:
		return nil, yamlconf.ErrAt(n, "want a value, got %s", yamlconf.Describe(n))
	}
	val, err := scalarValue(n)
	if err != nil {
		return nil, err
	}
	return constT{v: val}, nil
}

func stringText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	}
	return "", false
}

// scalarValue converts a YAML scalar to its JSON value (numbers as int or
// float64, the types jq works with).
func scalarValue(n ast.Node) (any, error) {
	sc, ok := n.(ast.ScalarNode)
	if !ok {
		return nil, yamlconf.ErrAt(n, "want a value, got %s", yamlconf.Describe(n))
	}
	var v any
	raw, err := json.Marshal(sc.GetValue())
	if err == nil {
		err = json.Unmarshal(raw, &v)
	}
	if err != nil {
		return nil, yamlconf.ErrAt(n, "unsupported value %s", n.GetToken().Value)
	}
	if f, ok := v.(float64); ok && f == float64(int(f)) && n.Type() == ast.IntegerType {
		return int(f), nil
	}
	return v, nil
}

func compileString(n ast.Node, s string) (tmpl, error) {
	parts, err := splitInterpolations(s)
	if err != nil {
		return nil, yamlconf.ErrAt(n, "%v", err)
	}
	if len(parts) == 1 {
		return constT{v: s}, nil
	}
	var t concatT
	for i, p := range parts {
		if i%2 == 0 {
			t.lits = append(t.lits, p)
			continue
		}
		prog, err := compileJQ(p)
		var impure *impureError
		if errors.As(err, &impure) {
			return nil, err // reported by checkExprs
		}
		if err != nil {
			return nil, yamlconf.ErrAt(n, "%v", err)
		}
		prog.at = nodeAt(n)
		t.progs = append(t.progs, prog)
	}
	if len(t.progs) == 1 && t.lits[0] == "" && t.lits[1] == "" {
		return exprT{p: t.progs[0]}, nil
	}
	return t, nil
}

// pathT is a compiled step path: interpolated values are path-escaped, so
// they stay inside one segment of the upstream's path, or inside the path
// for a tail (a parameter with allow_slashes, interpolated alone).
type pathT struct {
	concatT
	tails []bool // by interpolation; nil: none is a tail
}

// PathValueError is an interpolated path value that cannot be used
// safely: empty, or one that would leave its segment. It is never sent.
type PathValueError struct {
	Value  string
	Reason string // as segmentProblem words it
}

func (e *PathValueError) Error() string {
	return fmt.Sprintf("path value %s %s", yamlconf.QuoteShort(e.Value), e.Reason)
}

// Empty reports whether the value was empty (most often an optional
// parameter the caller left out), rather than one leaving its segment.
func (e *PathValueError) Empty() bool { return e.Value == "" }

// HeaderValueError is an interpolated header value holding CR or LF,
// which could smuggle another header upstream; it is never sent.
type HeaderValueError struct{ Header string }

func (e *HeaderValueError) Error() string {
	return fmt.Sprintf("header %s: value contains CR or LF", e.Header)
}

func compilePath(n ast.Node) (*pathT, error) {
	s, ok := stringText(yamlconf.Unwrap(n))
	if !ok {
		return nil, yamlconf.ErrAt(n, "path must be a string")
	}
	if !strings.HasPrefix(s, "/") {
		return nil, yamlconf.ErrAt(n, "path %q must begin with /", s)
	}
	t, err := compileString(n, s)
	if err != nil {
		return nil, err
	}
	switch v := t.(type) {
	case constT:
		return &pathT{concatT: concatT{lits: []string{(&url.URL{Path: s}).EscapedPath()}}}, nil
	case concatT:
		for i, lit := range v.lits {
			v.lits[i] = (&url.URL{Path: lit}).EscapedPath()
		}
		return &pathT{concatT: v}, nil
	}
	return nil, yamlconf.ErrAt(n, "path %q must begin with / before any ${ }", s)
}

// renderPath returns the escaped path. A value that would be empty or
// leave its segment (see segmentProblem) is refused: it could address
// another resource.
func (t *pathT) renderPath(ctx context.Context, in any) (string, error) {
	var bad error
	s, err := t.join(ctx, in, func(i int, v any) string {
		s, tail := stringify(v), t.tail(i)
		if reason := segmentProblem(s, tail); reason != "" && bad == nil {
			bad = &PathValueError{Value: s, Reason: reason}
		}
		return escapePath(s, tail)
	})
	if err != nil {
		return "", err
	}
	return s, bad
}

func (t *pathT) tail(i int) bool { return i < len(t.tails) && t.tails[i] }

// escapePath escapes a value for a path: a segment whole, a tail segment
// by segment, keeping its slashes.
func escapePath(s string, tail bool) string {
	if !tail {
		return url.PathEscape(s)
	}
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}

// segmentProblem returns why a value interpolated into an upstream path
// would not stay where it is put, or "". A segment must not be empty, "."
// or "..", nor hold a / or a \ (a separator to some servers); a tail may
// hold / between segments that follow the same rules. The value is read
// a second time percent-decoded too, for fronts that decode twice.
func segmentProblem(s string, tail bool) string {
	if reason := segmentReason(s, tail); reason != "" {
		return reason
	}
	if dec, err := url.PathUnescape(s); err == nil && dec != s {
		if reason := segmentReason(dec, tail); reason != "" {
			return reason + " (once percent-decoded)"
		}
	}
	return ""
}

func segmentReason(s string, tail bool) string {
	switch {
	case s == "":
		return "must not be empty: it is part of an upstream path"
	case strings.Contains(s, `\`):
		return "must not contain a backslash: it is part of an upstream path"
	case !tail && strings.Contains(s, "/"):
		return `must not contain "/": it is one segment of an upstream path`
	case !tail && (s == "." || s == ".."):
		return `must not be "." or "..": it is one segment of an upstream path`
	}
	if !tail {
		return ""
	}
	for _, seg := range strings.Split(s, "/") {
		switch seg {
		case "":
			return `must not have an empty segment (a leading, trailing or double "/")`
		case ".", "..":
			return `must not have a "." or ".." segment`
		}
	}
	return ""
}
