package pipeline

import (
	"fmt"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// ParamItems describes the elements of an array parameter: a scalar type
// and its constraints, as for a scalar parameter.
type ParamItems struct {
	Type      string   `yaml:"type"` // string (default) | integer | number | boolean
	Enum      []any    `yaml:"enum"`
	Minimum   *float64 `yaml:"minimum"`
	Maximum   *float64 `yaml:"maximum"`
	MinLength *int     `yaml:"min_length"`
	MaxLength *int     `yaml:"max_length"`
	Pattern   string   `yaml:"pattern"`
	Format    string   `yaml:"format"` // an annotation, as Param.Format
}

// Serialisation styles of array parameters (OpenAPI's style).
const (
	StyleForm   = "form"   // query: ?tag=a&tag=b (explode) or ?tag=a,b
	StyleSimple = "simple" // header: Tag: a,b
)

// Exploded reports whether an array query parameter is sent as repeated
// keys (?tag=a&tag=b) rather than comma-separated (?tag=a,b).
func (p *Param) Exploded() bool {
	return p.In == "query" && (p.Explode == nil || *p.Explode)
}

// ItemParam returns an array parameter's items as a scalar parameter
// (their type and constraints), or nil for a scalar parameter.
func (p *Param) ItemParam() *Param { return p.item }

// applyArrayDefaults fills in what an array parameter leaves out.
func applyArrayDefaults(p *Param) {
	if p.Type != "array" {
		return
	}
	if p.Items == nil {
		p.Items = &ParamItems{}
	}
	if p.Items.Type == "" {
		p.Items.Type = "string"
	}
	if p.Style == "" && p.In == "query" {
		p.Style = StyleForm
	}
	if p.Style == "" && p.In == "header" {
		p.Style = StyleSimple
	}
}

// validateWireName checks a parameter's `name:`.
func (c pctx) validateWireName(key string, p *Param) {
	if p.Name == "" {
		return
	}
	at := []string{"params", key, "name"}
	switch p.In {
	case "path":
		c.errorf(at, "a path parameter is named by its {%s} in the path: remove name", key)
	case "header":
		if !httpguts.ValidHeaderFieldName(p.Name) {
			c.errorf(at, "%q is not a valid header name", p.Name)
		}
	}
}

// checkWireNames reports two parameters of one location with one wire
// name, at the later one: a request could not tell them apart.
func (c pctx) checkWireNames(pl *Pipeline) {
	for i, key := range pl.ParamOrder {
		p := pl.Params[key]
		if p == nil {
			continue
		}
		for _, other := range pl.ParamOrder[:i] {
			q := pl.Params[other]
			if q != nil && q.In == p.In && sameWire(p.In, q.WireName(other), p.WireName(key)) {
				c.keyErrorf([]string{"params", key}, "%s parameter %q is already the wire name of params.%s", p.In, p.WireName(key), other)
				break
			}
		}
	}
}

// sameWire compares wire names: header names ignore case.
func sameWire(in, a, b string) bool {
	if in == "header" {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// validateArray checks an array parameter: its items are a scalar
// parameter, its style fits its location, and its default and example
// are lists of valid items.
func (c pctx) validateArray(name string, p *Param) {
	key := func(k ...string) []string { return append([]string{"params", name}, k...) }
	if p.In == "path" {
		c.errorf(key("type"), "a path parameter cannot be an array: take it in the query")
		return
	}
	for _, k := range scalarOnlyKeys(p) {
		c.keyErrorf(key(k), "%s applies to each element of an array: write it under items", k)
	}
	if p.AllowSlashes {
		c.keyErrorf(key("allow_slashes"), "only a string parameter can hold a path tail")
	}
	if p.Items.Type == "array" || !paramTypes[p.Items.Type] {
		c.errorf(key("items", "type"), "%q: want string, integer, number or boolean", p.Items.Type)
		return
	}
	c.validateArrayShape(key, p)
	it := p.Items
	p.item = &Param{In: p.In, Type: it.Type, Enum: it.Enum, Minimum: it.Minimum, Maximum: it.Maximum,
		MinLength: it.MinLength, MaxLength: it.MaxLength, Pattern: it.Pattern, Format: it.Format}
	itemKey := func(k ...string) []string { return key(append([]string{"items"}, k...)...) }
	c.validateScalar(itemKey, name, p.item)
	c.normalizeList(key("default"), p, &p.Default)
	c.normalizeList(key("example"), p, &p.Example)
}

// validateArrayShape checks style, explode and the bounds on the count.
func (c pctx) validateArrayShape(key func(k ...string) []string, p *Param) {
	switch {
	case p.In == "query" && p.Style != StyleForm:
		c.errorf(key("style"), "%q: a query array is style form (explode: true for ?tag=a&tag=b, false for ?tag=a,b)", p.Style)
	case p.In == "header" && p.Style != StyleSimple:
		c.errorf(key("style"), "%q: a header array is style simple (comma-separated)", p.Style)
	}
	if p.In == "header" && p.Explode != nil && *p.Explode {
		c.errorf(key("explode"), "a header array is comma-separated: explode applies to query arrays")
	}
	for _, b := range []struct {
		k string
		v *int
	}{{"min_items", p.MinItems}, {"max_items", p.MaxItems}} {
		if b.v != nil && *b.v < 0 {
			c.errorf(key(b.k), "must not be negative")
		}
	}
	if p.MinItems != nil && p.MaxItems != nil && *p.MinItems > *p.MaxItems {
		c.errorf(key("min_items"), "min_items %d is above max_items %d", *p.MinItems, *p.MaxItems)
	}
}

// scalarOnlyKeys lists the keys set on an array parameter that belong
// under its items.
func scalarOnlyKeys(p *Param) []string {
	var out []string
	add := func(k string, set bool) {
		if set {
			out = append(out, k)
		}
	}
	add("enum", len(p.Enum) > 0)
	add("minimum", p.Minimum != nil)
	add("maximum", p.Maximum != nil)
	add("min_length", p.MinLength != nil)
	add("max_length", p.MaxLength != nil)
	add("pattern", p.Pattern != "")
	add("format", p.Format != "")
	return out
}

// refuseArrayKeys reports the keys only an array parameter takes.
func (c pctx) refuseArrayKeys(name string, p *Param) {
	add := func(k string, set bool) {
		if set {
			c.keyErrorf([]string{"params", name, k}, "%s is only for type: array", k)
		}
	}
	add("items", p.Items != nil)
	add("style", p.Style != "")
	add("explode", p.Explode != nil)
	add("min_items", p.MinItems != nil)
	add("max_items", p.MaxItems != nil)
}

// normalizeList converts a YAML list (a default or example) to typed
// items and checks it as a request's value would be.
func (c pctx) normalizeList(key []string, p *Param, v *any) {
	if *v == nil {
		return
	}
	list, ok := (*v).([]any)
	if !ok {
		c.errorf(key, "want a list of %s values", p.Items.Type)
		return
	}
	typed := make([]any, len(list))
	for i, e := range list {
		x, err := fromYAML(p.item.Type, e)
		if err == nil {
			if reason := p.item.check(x); reason != "" {
				err = fmt.Errorf("%s %s", stringify(x), reason)
			}
		}
		if err != nil {
			c.errorAt(c.elem(key, i), fmt.Sprintf("%s[%d]", strings.Join(key, "."), i), "%v", err)
			return
		}
		typed[i] = x
	}
	if reason := p.checkCount(len(typed)); reason != "" {
		c.errorf(key, "%s", reason)
		return
	}
	*v = typed
}

// fromStrings types an array parameter from every value a request gives
// it: repeated query keys (explode), one comma-separated value (form
// without explode), or the comma-separated header lines (simple).
func (p *Param) fromStrings(vals []string) (any, string, bool) {
	if len(vals) == 0 || (len(vals) == 1 && vals[0] == "") {
		return nil, "", false
	}
	var texts []string
	switch {
	case p.Exploded():
		texts = vals
	case p.In == "query" && len(vals) > 1:
		return nil, fmt.Sprintf("given %d times; give it once, comma-separated", len(vals)), true
	case p.In == "query":
		texts = strings.Split(vals[0], ",")
	default: // header lines are one comma-separated list (RFC 9110, 5.3)
		for _, v := range vals {
			for part := range strings.SplitSeq(v, ",") {
				texts = append(texts, strings.TrimSpace(part))
			}
		}
	}
	out, reason := typedItems(p, texts, func(s string) (any, string) { return p.item.FromString(s) })
	return out, reason, true
}

// FromStrings types an array parameter from the values a request gives
// it, as ParseParams does; it returns a reason when they are bad.
func (p *Param) FromStrings(vals []string) (any, string) {
	if p.item == nil {
		return nil, ""
	}
	v, reason, _ := p.fromStrings(vals)
	return v, reason
}

// arrayFromJSON types an array parameter given as JSON: a list of item
// values, or text read as a request's value would be.
func (p *Param) arrayFromJSON(v any) (any, string) {
	switch x := v.(type) {
	case []any:
		return typedItems(p, x, p.item.FromJSON)
	case string:
		out, reason, _ := p.fromStrings([]string{x})
		return out, reason
	case map[string]any:
		return nil, "an object is not an array"
	}
	return typedItems(p, []any{v}, p.item.FromJSON)
}

// items types each element and checks the count.
func typedItems[T any](p *Param, elems []T, conv func(T) (any, string)) ([]any, string) {
	if reason := p.checkCount(len(elems)); reason != "" {
		return nil, reason
	}
	out := make([]any, len(elems))
	for i, e := range elems {
		v, reason := conv(e)
		if reason != "" {
			return nil, fmt.Sprintf("element %d: %s", i+1, reason)
		}
		out[i] = v
	}
	return out, ""
}

// checkCount returns why an array of n elements is too short or too
// long, or "".
func (p *Param) checkCount(n int) string {
	if p.MinItems != nil && n < *p.MinItems {
		return fmt.Sprintf("must have at least %d elements", *p.MinItems)
	}
	if p.MaxItems != nil && n > *p.MaxItems {
		return fmt.Sprintf("must have at most %d elements", *p.MaxItems)
	}
	return ""
}
