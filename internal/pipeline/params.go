package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Parameter locations and types.
var (
	paramIns   = map[string]bool{"path": true, "query": true, "header": true}
	paramTypes = map[string]bool{"string": true, "integer": true, "number": true, "boolean": true, "array": true}
)

// WireName is the parameter's name in the request: its `name:`, or its
// key in params (the name expressions see) when it has none.
func (p *Param) WireName(key string) string {
	if p.Name != "" {
		return p.Name
	}
	return key
}

// IsRequired reports whether a request must carry the parameter: path
// parameters always, others when `required: true` and without a default.
func (p *Param) IsRequired() bool {
	if p.In == "path" {
		return true
	}
	return p.Required != nil && *p.Required && p.Default == nil
}

func (c pctx) validateParam(name string, p *Param) {
	key := func(k ...string) []string { return append([]string{"params", name}, k...) }
	if p == nil {
		c.keyErrorf(key(), "empty parameter: write at least {type: string}")
		return
	}
	if !yamlconf.Identifier.MatchString(name) {
		c.keyErrorf(key(), "parameter name %q must match %s", name, yamlconf.Identifier)
	}
	if !paramIns[p.In] {
		c.errorf(key("in"), "%q: want path, query or header", p.In)
	}
	c.validateWireName(name, p)
	if !paramTypes[p.Type] {
		c.errorf(key("type"), "%q: want string, integer, number, boolean or array", p.Type)
		return
	}
	if n := utf8.RuneCountInString(p.Description); n > MaxParamDescription {
		c.errorf(key("description"), "%d characters is too long: assistants accept at most %d", n, MaxParamDescription)
	}
	if p.Type == "array" {
		c.validateArray(name, p)
		return
	}
	c.refuseArrayKeys(name, p)
	c.validateScalar(key, name, p)
}

// validateScalar checks the constraints of a string, integer, number or
// boolean parameter (or of an array's items).
func (c pctx) validateScalar(key func(k ...string) []string, name string, p *Param) {
	if p.Minimum != nil && p.Maximum != nil && *p.Minimum > *p.Maximum {
		c.errorf(key("minimum"), "minimum %v is above maximum %v", *p.Minimum, *p.Maximum)
	}
	if p.MinLength != nil && *p.MinLength < 0 {
		c.errorf(key("min_length"), "must not be negative")
	}
	if p.MaxLength != nil && *p.MaxLength < 0 {
		c.errorf(key("max_length"), "must not be negative")
	}
	if p.MinLength != nil && p.MaxLength != nil && *p.MinLength > *p.MaxLength {
		c.errorf(key("min_length"), "min_length %d is above max_length %d", *p.MinLength, *p.MaxLength)
	}
	if p.AllowSlashes && p.Type != "string" {
		c.errorf(key("allow_slashes"), "only a string parameter can hold a path tail")
	}
	if p.AllowSlashes && p.In == "path" {
		c.errorf(key("allow_slashes"), "a path parameter is one segment of this pipeline's own path: take a path tail as a query parameter")
	}
	if p.Pattern != "" {
		re, err := regexp.Compile(p.Pattern)
		if err != nil {
			c.errorf(key("pattern"), "invalid regular expression: %v", err)
		}
		p.pattern = re
	}
	for i, e := range p.Enum {
		v, err := fromYAML(p.Type, e)
		if err != nil {
			c.errorAt(c.elem(key("enum"), i), strings.Join(key("enum"), ".")+fmt.Sprintf("[%d]", i), "%v", err)
			continue
		}
		p.Enum[i] = v
	}
	c.normalize(key("default"), p, &p.Default)
	c.normalize(key("example"), p, &p.Example)
}

// normalize converts a YAML default or example to the parameter's type
// and checks it against the parameter's own constraints.
func (c pctx) normalize(key []string, p *Param, v *any) {
	if *v == nil {
		return
	}
	typed, err := fromYAML(p.Type, *v)
	if err != nil {
		c.errorf(key, "%v", err)
		return
	}
	if reason := p.check(typed); reason != "" {
		if str, ok := typed.(string); ok {
			c.errorf(key, "%q %s", str, reason)
		} else {
			c.errorf(key, "%v %s", typed, reason)
		}
		return
	}
	*v = typed
}

// fromYAML converts a decoded YAML value to a parameter type.
func fromYAML(typ string, v any) (any, error) {
	switch typ {
	case "array":
		return nil, errors.New("an array's default and example are lists: see items")
	case "string":
		if s, ok := v.(string); ok {
			return s, nil
		}
	case "boolean":
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case "integer", "number":
		var f float64
		switch n := v.(type) {
		case uint64:
			f = float64(n)
		case int64:
			f = float64(n)
		case int:
			f = float64(n)
		case float64:
			f = n
		default:
			return nil, notA(v, typ)
		}
		if typ == "number" {
			return f, nil
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int(f), nil
		}
	}
	return nil, notA(v, typ)
}

func notA(v any, typ string) error {
	article := "a"
	if typ == "integer" {
		article = "an"
	}
	if s, ok := v.(string); ok {
		return fmt.Errorf("%q is not %s %s", s, article, typ)
	}
	if typ == "string" {
		return fmt.Errorf("%v is not a string: quote it", v)
	}
	return fmt.Errorf("%v is not %s %s", v, article, typ)
}

// FromString converts a request's text to the parameter's type and checks
// it. It returns a reason a client can act on when the value is bad.
func (p *Param) FromString(s string) (any, string) {
	var v any
	switch p.Type {
	case "string":
		// JSON (the engine, answers, audit events, GraphQL and MCP) cannot
		// carry other bytes: the value would reach the upstream as sent but
		// show as U+FFFD everywhere else.
		if !utf8.ValidString(s) {
			return nil, "must be UTF-8 text"
		}
		v = s
	case "integer":
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Sprintf("%q is not an integer", s)
		}
		v = int(n)
	case "number":
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Sprintf("%q is not a number", s)
		}
		v = f
	case "boolean":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Sprintf("%q is not a boolean (true or false)", s)
		}
		v = b
	}
	if reason := p.check(v); reason != "" {
		return nil, reason
	}
	return v, ""
}

// check returns why a typed value breaks the parameter's constraints, or "".
func (p *Param) check(v any) string {
	if len(p.Enum) > 0 && !containsValue(p.Enum, v) {
		return fmt.Sprintf("must be one of %s", enumList(p.Enum))
	}
	var f float64
	switch n := v.(type) {
	case int:
		f = float64(n)
	case float64:
		f = n
	case string:
		if p.segment {
			if reason := segmentProblem(n, p.AllowSlashes); reason != "" {
				return reason
			}
		}
		n2 := utf8.RuneCountInString(n)
		if p.MinLength != nil && n2 < *p.MinLength {
			return fmt.Sprintf("must be at least %d characters", *p.MinLength)
		}
		if p.MaxLength != nil && n2 > *p.MaxLength {
			return fmt.Sprintf("must be at most %d characters", *p.MaxLength)
		}
		if p.pattern != nil && !p.pattern.MatchString(n) {
			return fmt.Sprintf("must match %s", p.Pattern)
		}
		return ""
	default:
		return ""
	}
	if p.Minimum != nil && f < *p.Minimum {
		return fmt.Sprintf("must be at least %v", *p.Minimum)
	}
	if p.Maximum != nil && f > *p.Maximum {
		return fmt.Sprintf("must be at most %v", *p.Maximum)
	}
	return ""
}

func containsValue(list []any, v any) bool {
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}

func enumList(list []any) string {
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = stringify(e)
	}
	return strings.Join(parts, ", ")
}

// ParamProblem is one bad request parameter.
type ParamProblem struct {
	In     string `json:"in"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// ParamsError lists every bad parameter of a request, not just the first.
type ParamsError struct {
	Problems []ParamProblem
}

func (e *ParamsError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = fmt.Sprintf("%s parameter %s: %s", p.In, p.Name, p.Reason)
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

// ParseParams types, checks and defaults the parameters of a request. get
// returns every value a request gives a parameter, by location (path,
// query, header) and name. A parameter given more than once is refused:
// servers disagree on which value counts. Every problem is reported in one
// *ParamsError.
func (c *Compiled) ParseParams(get func(in, name string) []string) (map[string]any, error) {
	return c.collect((*Param).WireName, func(p *Param, name string) (any, string, bool) {
		vals := get(p.In, p.WireName(name))
		if p.Type == "array" {
			return p.fromStrings(vals)
		}
		switch {
		case len(vals) > 1:
			return nil, fmt.Sprintf("given %d times; give it once", len(vals)), true
		case len(vals) == 0 || (vals[0] == "" && p.In != "path"):
			return nil, "", false
		}
		v, reason := p.FromString(vals[0])
		return v, reason, true
	})
}

// collect runs value for every parameter in order: absent ones are
// required or defaulted, present ones typed and checked. Every problem is
// reported in one *ParamsError, naming each parameter by label (its wire
// name for a request, its key for JSON arguments).
func (c *Compiled) collect(label func(p *Param, key string) string, value func(p *Param, name string) (v any, reason string, present bool)) (map[string]any, error) {
	out := make(map[string]any, len(c.Params))
	var problems []ParamProblem
	for _, name := range c.ParamOrder {
		p := c.Params[name]
		v, reason, present := value(p, name)
		switch {
		case !present && p.IsRequired():
			problems = append(problems, ParamProblem{p.In, label(p, name), "required"})
		case !present && p.Default != nil:
			out[name] = p.Default
		case !present:
		case reason != "":
			problems = append(problems, ParamProblem{p.In, label(p, name), reason})
		default:
			out[name] = v
		}
	}
	if len(problems) > 0 {
		return nil, &ParamsError{Problems: problems}
	}
	return out, nil
}

// ParamsFromJSON types, checks and defaults parameters given as decoded
// JSON values by name (MCP tool arguments, GraphQL variables): a string is
// read as ParseParams reads request text, a number or boolean must fit the
// parameter's type, null is absent. Names that are not parameters are left
// to the caller. Every problem is reported in one *ParamsError.
func (c *Compiled) ParamsFromJSON(args map[string]any) (map[string]any, error) {
	return c.collect(func(_ *Param, key string) string { return key }, func(p *Param, name string) (any, string, bool) {
		v := args[name]
		if s, ok := v.(string); v == nil || (ok && s == "" && p.In != "path") {
			return nil, "", false
		}
		typed, reason := p.FromJSON(v)
		return typed, reason, true
	})
}

// FromJSON converts a decoded JSON value (numbers as float64 or
// json.Number) to the parameter's type and checks it. A string goes
// through FromString, so "5" is a valid integer as in a query string.
func (p *Param) FromJSON(v any) (any, string) {
	if p.Type == "array" {
		return p.arrayFromJSON(v)
	}
	switch x := v.(type) {
	case string:
		return p.FromString(x)
	case map[string]any:
		return nil, "an object is not " + withArticle(p.Type)
	case []any:
		return nil, "an array is not " + withArticle(p.Type)
	case json.Number:
		if n, err := x.Int64(); err == nil {
			v = n
		} else if f, err := x.Float64(); err == nil {
			v = f
		}
	}
	typed, err := fromYAML(p.Type, v)
	if err != nil {
		return nil, err.Error()
	}
	if reason := p.check(typed); reason != "" {
		return nil, reason
	}
	return typed, ""
}

// withArticle is a type name with its article: "an integer", "a string".
func withArticle(typ string) string {
	if typ != "" && strings.ContainsRune("aeiou", rune(typ[0])) {
		return "an " + typ
	}
	return "a " + typ
}
