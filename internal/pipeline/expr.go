package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/itchyny/gojq"
)

// program is a compiled jq expression.
type program struct {
	src  string
	code *gojq.Code
	at   exprAt // where it is written, for run-time errors
	// prefix marks a prefix run to find the failing line of another
	// program: its own errors are not narrowed down again.
	prefix bool
	// fields is set when the expression is only a path of field names
	// (`.params.id`, the common template): see lookup.
	fields []string
}

// Expressions see only their input: no environment ($ENV and env are
// empty), no files, no input/inputs.
var noEnviron = gojq.WithEnvironLoader(func() []string { return nil })

func compileJQ(src string) (*program, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("invalid jq expression %q: %w", src, err)
	}
	if refs := scanRefs(q); len(refs.impure) > 0 {
		// gojq would refuse some with a cryptic message and run others:
		// checkExprs reports each, by name, at its place.
		return nil, &impureError{names: refs.impure}
	}
	code, err := gojq.Compile(q, noEnviron)
	if err != nil {
		return nil, fmt.Errorf("invalid jq expression %q: %w", src, err)
	}
	return &program{src: src, code: code, fields: fieldPath(src)}, nil
}

// fieldPath is the names of an expression that is only a path of field
// names, `.a.b.c`, or nil.
func fieldPath(src string) []string {
	s := strings.TrimSpace(src)
	if len(s) < 2 || s[0] != '.' {
		return nil
	}
	fields := strings.Split(s[1:], ".")
	for _, f := range fields {
		if !isIdent(f) {
			return nil
		}
	}
	return fields
}

// isIdent reports whether s is a jq identifier: a field `.s` may name.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// lookup evaluates a field path without the jq machinery, as jq would:
// a missing field or a null on the way is null. Anything but an object or
// null on the way is for jq to report, so ok is then false.
func (p *program) lookup(input any) (v any, ok bool) {
	v = input
	for _, f := range p.fields {
		switch m := v.(type) {
		case nil:
			return nil, true
		case map[string]any:
			v = m[f]
		default:
			return nil, false
		}
	}
	return v, true
}

// impureError is an expression using functions that read outside the
// run; checkExprs reports it, so compiling reports nothing.
type impureError struct{ names []string }

func (e *impureError) Error() string { return "uses " + strings.Join(e.names, ", ") }

// ExprError is a jq expression that failed at run time: a bug of the
// pipeline, not of its caller or its upstreams. It names the expression
// by its key (steps.air.foreach, output) and where it is written.
type ExprError struct {
	Expr   string
	Err    error
	Key    string // e.g. "steps.air.foreach", "output"
	File   string
	Line   int
	Column int
	// SrcLine is the line of a multi-line expression where it failed
	// (1-based; 0 when not known), and Quote that line.
	SrcLine int
	Quote   string
}

func (e *ExprError) Error() string {
	return e.Where() + ": " + e.Err.Error() + e.Quoted()
}

// Where names the expression: its key and its file:line:column.
func (e *ExprError) Where() string {
	where := e.Key
	if where == "" {
		where = "jq expression"
	}
	if at := e.At(); at != "" {
		where += " (" + at + ")"
	}
	return where
}

// At is the expression's file:line:column, or "" when not known.
func (e *ExprError) At() string {
	if e.File == "" || e.Line == 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
}

// Quoted quotes the expression, or the line of it that failed: never a
// multi-line text with its newlines escaped.
func (e *ExprError) Quoted() string {
	src := strings.TrimSpace(e.Expr)
	switch {
	case e.SrcLine > 0:
		return fmt.Sprintf(" at line %d of the expression: %q", e.SrcLine, e.Quote)
	case src != "" && !strings.Contains(src, "\n"):
		return fmt.Sprintf(" in %q", src)
	}
	return ""
}

func (e *ExprError) Unwrap() error { return e.Err }

// eval runs the program. One output is returned as is, none as null, and
// several as an array of them.
func (p *program) eval(ctx context.Context, input any) (any, error) {
	if p.fields != nil {
		if v, ok := p.lookup(input); ok {
			return v, nil
		}
	}
	iter := p.code.RunWithContext(ctx, input)
	var out []any
	for {
		v, ok := iter.Next()
		if !ok {
			break
		}
		if err, ok := v.(error); ok {
			var halt *gojq.HaltError
			if errors.As(err, &halt) && halt.Value() == nil {
				break
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			if chosen, ok := chosenProblem(p.src, err); ok {
				return nil, chosen
			}
			return nil, p.failed(ctx, input, err)
		}
		out = append(out, v)
	}
	switch len(out) {
	case 0:
		return nil, nil
	case 1:
		return out[0], nil
	}
	return out, nil
}

// truthy is jq's notion of truth: everything but false and null.
func truthy(v any) bool {
	return v != nil && v != false
}

// stringify renders a value for a path, query or header: strings as they
// are, whole numbers without exponent or fraction, null as empty, and
// arrays and objects as JSON.
func stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case *big.Int:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// splitInterpolations splits s into literal text and `${ expr }` sources.
// Literal parts are at even indexes, expressions at odd ones. Braces inside
// an expression nest, and braces inside jq string literals do not count.
func splitInterpolations(s string) ([]string, error) {
	var parts []string
	for {
		start := strings.Index(s, "${")
		if start < 0 {
			return append(parts, s), nil
		}
		end, err := scanExpr(s, start+2)
		if err != nil {
			return nil, err
		}
		expr := strings.TrimSpace(s[start+2 : end])
		if expr == "" {
			return nil, fmt.Errorf("empty ${ } at offset %d", start)
		}
		parts = append(parts, s[:start], expr)
		s = s[end+1:]
	}
}

// scanExpr returns the index of the "}" closing an interpolation whose
// expression starts at i.
func scanExpr(s string, i int) (int, error) {
	j, ok, err := scanBalanced(s, i, '{', '}')
	if err == nil && !ok {
		err = errors.New("unterminated ${: missing }")
	}
	return j, err
}

// scanBalanced returns the index of the first close at depth zero from i,
// counting open/close pairs and stepping over jq string literals. ok is
// false when s ends first.
func scanBalanced(s string, i int, open, close byte) (int, bool, error) {
	depth := 0
	for ; i < len(s); i++ {
		switch s[i] {
		case open:
			depth++
		case close:
			if depth == 0 {
				return i, true, nil
			}
			depth--
		case '"':
			j, err := scanString(s, i+1)
			if err != nil {
				return 0, false, err
			}
			i = j
		}
	}
	return 0, false, nil
}

// scanString returns the index of the quote closing a jq string literal
// whose content starts at i; it steps over `\(...)` interpolations.
func scanString(s string, i int) (int, error) {
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) && s[i+1] == '(' {
				j, ok, err := scanBalanced(s, i+2, '(', ')')
				if err == nil && !ok {
					err = errors.New("unterminated \\( in string")
				}
				if err != nil {
					return 0, err
				}
				i = j
				continue
			}
			i++
		case '"':
			return i, nil
		}
	}
	return 0, errors.New("unterminated string in ${ }")
}

// encodeJSON encodes an answer the way jq prints it (gojq's encoder: no
// HTML escaping, jq's number format), which costs a fraction of
// encoding/json's reflection. Answers hold only the types jq works with;
// anything else falls back to encoding/json.
func encodeJSON(v any) (b []byte, err error) {
	defer func() {
		if recover() != nil {
			b, err = json.Marshal(v)
		}
	}()
	return gojq.Marshal(v)
}
