package yamlconf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// NodeError is a decode error that knows the YAML token it is about.
// goccy/go-yaml passes errors of custom unmarshalers through unchanged, so
// the loaders turn this into a located Error.
type NodeError struct {
	Node ast.Node
	Tok  *token.Token
	Msg  string
}

func (e *NodeError) Error() string { return e.Msg }

// ErrAt is a NodeError about n.
func ErrAt(n ast.Node, format string, args ...any) error {
	return &NodeError{Node: n, Tok: n.GetToken(), Msg: fmt.Sprintf(format, args...)}
}

// QuoteShort quotes a string for a message, shortened when long.
func QuoteShort(s string) string {
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}

// Describe names the kind of a YAML node for "want X, got Y" messages.
func Describe(n ast.Node) string {
	switch v := Unwrap(n).(type) {
	case nil, *ast.NullNode:
		return "null"
	case *ast.StringNode:
		return QuoteShort(v.Value)
	case *ast.LiteralNode:
		return QuoteShort(v.Value.Value)
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

// ScalarString returns the text of a scalar node, or an error naming what
// was expected.
func ScalarString(n ast.Node, what string) (string, error) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return n.GetToken().Value, nil
	}
	return "", ErrAt(n, "want %s, got %s", what, Describe(n))
}

// Duration is a YAML duration string such as "800ms", "3s" or "5m".
type Duration time.Duration

// UnmarshalYAML implements yaml.NodeUnmarshaler.
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	n = Unwrap(n) // tags such as !!str
	if _, null := n.(*ast.NullNode); null {
		*d = 0 // written but empty: not set
		return nil
	}
	s, err := ScalarString(n, `a duration such as "800ms" or "5m"`)
	if err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return ErrAt(n, "invalid duration %q: want a duration such as \"800ms\" or \"5m\"", s)
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
	n = Unwrap(n) // tags such as !!str
	if _, null := n.(*ast.NullNode); null {
		*s = 0 // written but empty: not set
		return nil
	}
	text, err := ScalarString(n, `a size such as "1MiB"`)
	if err != nil {
		return err
	}
	v, ok := ParseSize(text)
	if !ok {
		return ErrAt(n, "invalid size %q: want bytes or a number with KB, MB, GB, KiB, MiB or GiB", text)
	}
	*s = Size(v)
	return nil
}

// ParseSize parses a size as Size.UnmarshalYAML accepts it.
func ParseSize(text string) (int64, bool) {
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
	n = Unwrap(n) // tags such as !!str
	text, err := ScalarString(n, `a rate such as "60/min"`)
	if err != nil {
		return err
	}
	v, ok := ParseRate(text)
	if !ok {
		return ErrAt(n, "invalid rate %q: want N/sec, N/min or N/hour, optionally followed by \"burst N\"", text)
	}
	*r = v
	return nil
}

// ParseRate parses a rate as Rate.UnmarshalYAML accepts it.
func ParseRate(text string) (Rate, bool) {
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

// StringList reads a YAML list of strings.
func StringList(n ast.Node) ([]string, error) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		return nil, ErrAt(n, "want a list of strings, got %s", Describe(n))
	}
	out := make([]string, 0, len(seq.Values))
	for _, v := range seq.Values {
		s, ok := v.(*ast.StringNode)
		if !ok {
			return nil, ErrAt(v, "want a string, got %s", Describe(v))
		}
		out = append(out, s.Value)
	}
	return out, nil
}

// ScalarText returns the text of any scalar node, null included.
func ScalarText(n ast.Node) (string, bool) {
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
