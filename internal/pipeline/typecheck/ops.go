package typecheck

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Op is the operation of a document that a step calls.
type Op struct {
	Method, Path string // the document's path template
	item         *openapi3.PathItem
	op           *openapi3.Operation
}

// Find is the operation for method and a step's path, whose `${ }`
// interpolations match any segment, as the document's `{name}`s match
// any value. When several paths match, the one with the most literal
// segments in common wins (/markets/nearest before /markets/{id}), and an
// interpolation prefers a templated segment (/markets/${ .id } is
// /markets/{id}, not /markets/nearest).
func (d *Doc) Find(method, stepPath string) (*Op, error) {
	segs := splitPath(stepPath)
	var best string
	bestScore := -1
	for _, p := range d.T.Paths.InMatchingOrder() {
		if score, ok := matchPath(segs, splitPath(p)); ok && score > bestScore {
			best, bestScore = p, score
		}
	}
	if best == "" {
		return nil, fmt.Errorf("%s is not a path of %s", shown(stepPath), d.Name)
	}
	item := d.T.Paths.Value(best)
	op := item.GetOperation(method)
	if op == nil {
		ops := make([]string, 0, len(item.Operations()))
		for m := range item.Operations() {
			ops = append(ops, m)
		}
		sort.Strings(ops)
		return nil, fmt.Errorf("%s %s is not an operation of %s (%s has %s)", method, shown(stepPath), d.Name, best, strings.Join(ops, ", "))
	}
	return &Op{Method: method, Path: best, item: item, op: op}, nil
}

// shown is a step path as messages show it: its interpolations as ${}.
func shown(p string) string { return strings.Join(splitPath(p), "/") }

// splitPath cuts a path (without its query) into segments; a segment
// with an interpolation becomes "${}".
func splitPath(p string) []string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if strings.HasPrefix(p[i:], "${") {
			depth := 0
			for ; i < len(p); i++ {
				if p[i] == '{' {
					depth++
				} else if p[i] == '}' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			b.WriteString("${}")
			continue
		}
		if p[i] == '?' || p[i] == '#' {
			break
		}
		b.WriteByte(p[i])
	}
	segs := strings.Split(b.String(), "/")
	for i, s := range segs {
		if strings.Contains(s, "${}") {
			segs[i] = "${}"
		}
	}
	return segs
}

var docParam = regexp.MustCompile(`\{[^{}/]*\}`)

// matchPath reports whether step segments match document segments, and
// how many literal segments they share.
func matchPath(step, doc []string) (int, bool) {
	if len(step) != len(doc) {
		return 0, false
	}
	score := 0
	for i, s := range step {
		d := doc[i]
		switch {
		case s == "${}": // a value: rather {id} than a literal segment
			if strings.Contains(d, "{") {
				score++
			}
		case !strings.Contains(d, "{"):
			if s != d {
				return 0, false
			}
			score += 2
		default:
			if !templateRE(d).MatchString(s) {
				return 0, false
			}
		}
	}
	return score, true
}

// templateRE matches the values of a templated segment ("{id}.json").
func templateRE(seg string) *regexp.Regexp {
	parts := docParam.Split(seg, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, "[^/]+") + "$")
}

// Params are the operation's parameters in one place (query, header...):
// every name, and whether it is required.
func (o *Op) Params(in string) map[string]bool {
	out := map[string]bool{}
	add := func(ps openapi3.Parameters) {
		for _, ref := range ps {
			if p := ref.Value; p != nil && p.In == in {
				out[p.Name] = p.Required
			}
		}
	}
	add(o.item.Parameters)
	add(o.op.Parameters) // an operation's own override the path's
	return out
}

// Body is the request body's JSON schema, and whether a body is required
// (nil schema: the operation takes no body).
func (o *Op) Body() (Schema, bool) {
	rb := o.op.RequestBody
	if rb == nil || rb.Value == nil {
		return nil, false
	}
	mt := jsonContent(rb.Value.Content)
	if mt == nil {
		return Any(), rb.Value.Required
	}
	return Convert(mt.Schema), rb.Value.Required
}

// Response is the schema of the operation's success answer: 200, else
// the first 2xx, else default; any ({}) when it has none.
func (o *Op) Response() Schema {
	rs := o.op.Responses
	if rs == nil {
		return Any()
	}
	ref := rs.Value("200")
	if ref == nil {
		for _, code := range rs.Keys() {
			if strings.HasPrefix(code, "2") {
				ref = rs.Value(code)
				break
			}
		}
	}
	if ref == nil {
		ref = rs.Default()
	}
	if ref == nil || ref.Value == nil {
		return Any()
	}
	if mt := jsonContent(ref.Value.Content); mt != nil {
		return Convert(mt.Schema)
	}
	return Any()
}

// jsonContent is the JSON media type of a content map, if any.
func jsonContent(c openapi3.Content) *openapi3.MediaType {
	if mt := c.Get("application/json"); mt != nil {
		return mt
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.Contains(k, "json") {
			return c[k]
		}
	}
	return nil
}
