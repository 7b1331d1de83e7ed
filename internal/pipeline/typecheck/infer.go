package typecheck

import (
	"fmt"
	"strings"

	"github.com/itchyny/gojq"
)

// Inference is the schema of a jq expression's outputs, and the field
// references it found that the input's schema lacks.
type Inference struct {
	Schema   Schema
	Warnings []string
	One      bool // it surely gives exactly one output (see Collapsed)
}

// Infer is the schema of what the jq expression src gives for an input
// of schema in, with vars the schemas of the variables it may read. It
// follows paths, iteration, indexing, object and array construction,
// pipes, `,`, `//`, `as` bindings, if, try, arithmetic and the common
// builtins (map, select, length, keys, sort_by, group_by, from_entries,
// join...); anything else is any ({}), so the schema is never wrong,
// only sometimes vague. An expression that does not parse is any.
func Infer(src string, in Schema, vars map[string]Schema) Inference {
	q, err := gojq.Parse(src)
	if err != nil {
		return Inference{Schema: Any()}
	}
	e := &inferrer{seen: map[string]bool{}}
	env := map[string]Schema{}
	for k, v := range vars {
		env["$"+strings.TrimPrefix(k, "$")] = v
	}
	out := e.query(q, in, env)
	if out == nil {
		out = Any()
	}
	return Inference{Schema: out, Warnings: e.warns, One: oneOutput(q)}
}

type inferrer struct {
	warns []string
	seen  map[string]bool
}

func (e *inferrer) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !e.seen[msg] {
		e.seen[msg] = true
		e.warns = append(e.warns, msg)
	}
}

func (e *inferrer) query(q *gojq.Query, in Schema, env map[string]Schema) Schema {
	if q == nil || in == nil {
		return in
	}
	if len(q.FuncDefs) > 0 {
		return Any() // user functions: not followed
	}
	if q.Term != nil {
		return e.term(q.Term, in, env)
	}
	if len(q.Patterns) > 0 {
		return e.bind(q, in, env)
	}
	left := func() Schema { return e.query(q.Left, in, env) }
	right := func() Schema { return e.query(q.Right, in, env) }
	switch q.Op {
	case gojq.OpPipe:
		return e.query(q.Right, e.query(q.Left, in, env), env)
	case gojq.OpComma:
		return Union(left(), right())
	case gojq.OpAlt:
		return Union(nonNull(left()), right())
	case gojq.OpEq, gojq.OpNe, gojq.OpGt, gojq.OpLt, gojq.OpGe, gojq.OpLe, gojq.OpAnd, gojq.OpOr:
		left()
		right()
		return Of("boolean")
	case gojq.OpAdd:
		return add(left(), right())
	case gojq.OpSub, gojq.OpMul, gojq.OpDiv, gojq.OpMod:
		return arith(q.Op, left(), right())
	}
	return Any() // assignments and updates
}

// bind is `E as $x | body` (and destructuring, whose names are any).
func (e *inferrer) bind(q *gojq.Query, in Schema, env map[string]Schema) Schema {
	v := e.query(q.Left, in, env)
	inner := make(map[string]Schema, len(env)+1)
	for k, s := range env {
		inner[k] = s
	}
	for _, p := range q.Patterns {
		if p.Name != "" {
			inner[p.Name] = v
			continue
		}
		for _, name := range patternNames(p) {
			inner[name] = Any()
		}
	}
	return e.query(q.Right, in, inner)
}

func patternNames(p *gojq.Pattern) []string {
	var out []string
	if p.Name != "" {
		out = append(out, p.Name)
	}
	for _, a := range p.Array {
		out = append(out, patternNames(a)...)
	}
	for _, o := range p.Object {
		if o.Key != "" && strings.HasPrefix(o.Key, "$") {
			out = append(out, o.Key)
		}
		if o.Val != nil {
			out = append(out, patternNames(o.Val)...)
		}
	}
	return out
}

func (e *inferrer) term(t *gojq.Term, in Schema, env map[string]Schema) Schema {
	s := e.base(t, in, env)
	for _, suf := range t.SuffixList {
		s = e.suffix(suf, s, env, in)
	}
	return s
}

func (e *inferrer) base(t *gojq.Term, in Schema, env map[string]Schema) Schema {
	switch t.Type {
	case gojq.TermTypeIdentity:
		return in
	case gojq.TermTypeNull:
		return Of("null")
	case gojq.TermTypeTrue, gojq.TermTypeFalse:
		return Of("boolean")
	case gojq.TermTypeNumber:
		if strings.ContainsAny(t.Number, ".eE") {
			return Of("number")
		}
		return Of("integer")
	case gojq.TermTypeString, gojq.TermTypeFormat:
		return Of("string")
	case gojq.TermTypeIndex:
		return e.index(t.Index, in, env, in)
	case gojq.TermTypeFunc:
		return e.call(t.Func, in, env)
	case gojq.TermTypeObject:
		return e.object(t.Object, in, env)
	case gojq.TermTypeArray:
		if t.Array.Query == nil {
			return emptyArray()
		}
		return ArrayOf(e.query(t.Array.Query, in, env))
	case gojq.TermTypeUnary:
		e.term(t.Unary.Term, in, env)
		return Of("number")
	case gojq.TermTypeIf:
		return e.cond(t.If, in, env)
	case gojq.TermTypeTry:
		s := e.query(t.Try.Body, in, env)
		if t.Try.Catch != nil {
			s = Union(s, e.query(t.Try.Catch, Any(), env))
		}
		return s
	case gojq.TermTypeQuery:
		return e.query(t.Query, in, env)
	}
	return Any() // .., reduce, foreach, label, break
}

func (e *inferrer) cond(f *gojq.If, in Schema, env map[string]Schema) Schema {
	e.query(f.Cond, in, env)
	out := e.query(f.Then, in, env)
	for _, el := range f.Elif {
		e.query(el.Cond, in, env)
		out = Union(out, e.query(el.Then, in, env))
	}
	if f.Else == nil {
		return Union(out, in)
	}
	return Union(out, e.query(f.Else, in, env))
}

func (e *inferrer) suffix(suf *gojq.Suffix, s Schema, env map[string]Schema, dot Schema) Schema {
	switch {
	case suf.Index != nil:
		return e.index(suf.Index, s, env, dot)
	case suf.Iter:
		return iterate(s)
	}
	return s // `?`
}

// iterate is the schema of `.[]`'s outputs.
func iterate(s Schema) Schema {
	switch TypeOf(s) {
	case "array":
		return Items(s)
	case "object":
		if extra := Extra(s); Props(s) == nil && extra != nil {
			return extra
		}
	}
	return Any()
}

// index is `.name`, `.["name"]`, `.[n]`, `.[expr]` or a slice on s;
// dot is the input the index expression itself sees.
func (e *inferrer) index(ix *gojq.Index, s Schema, env map[string]Schema, dot Schema) Schema {
	if ix.Name != "" {
		return e.field(s, ix.Name)
	}
	if ix.Str != nil && len(ix.Str.Queries) == 0 {
		return e.field(s, ix.Str.Str)
	}
	if ix.IsSlice {
		return s
	}
	if ix.Start == nil {
		return Any()
	}
	if k := constString(ix.Start); k != nil {
		return e.field(s, *k)
	}
	key := e.query(ix.Start, dot, env)
	switch TypeOf(s) {
	case "array":
		if TypeOf(key) == "array" { // .[[1]]: indices
			return Any()
		}
		return nullable(Items(s)) // out of range is null
	case "object":
		if extra := Extra(s); extra != nil && Props(s) == nil {
			return nullable(extra) // a missing key is null
		}
	}
	return Any()
}

func constString(q *gojq.Query) *string {
	if q.Term != nil && q.Term.Type == gojq.TermTypeString && q.Term.SuffixList == nil && len(q.Term.Str.Queries) == 0 {
		return &q.Term.Str.Str
	}
	return nil
}

// field is `.name` on s; a name a closed schema lacks is a warning.
func (e *inferrer) field(s Schema, name string) Schema {
	if TypeOf(s) != "object" {
		return Any()
	}
	if p, ok := Props(s)[name].(Schema); ok {
		if allowsNull(s) { // .a.b where .a may be null gives null
			return nullable(p)
		}
		return p
	}
	if closed(s) {
		e.warn("no field %q here (the schema has %s)", name, strings.Join(propNames(s), ", "))
		return Any()
	}
	if extra := Extra(s); extra != nil && Props(s) == nil {
		return nullable(extra)
	}
	return Any()
}

func (e *inferrer) object(o *gojq.Object, in Schema, env map[string]Schema) Schema {
	props := map[string]Schema{}
	for _, kv := range o.KeyVals {
		key := kv.Key
		switch {
		case kv.KeyString != nil && len(kv.KeyString.Queries) == 0:
			key = kv.KeyString.Str
		case kv.KeyString != nil || kv.KeyQuery != nil:
			if kv.Val != nil {
				e.query(kv.Val, in, env)
			}
			return Of("object") // a computed key: names not known
		}
		switch {
		case kv.Val != nil:
			props[key] = e.query(kv.Val, in, env)
		case strings.HasPrefix(key, "$"): // {$x}
			props[key[1:]] = e.variable(key, env)
		default: // {name}
			props[key] = e.field(in, key)
		}
	}
	return ObjectOf(props)
}

func (e *inferrer) variable(name string, env map[string]Schema) Schema {
	if s, ok := env[name]; ok {
		return s
	}
	return Any()
}

func add(a, b Schema) Schema {
	ta, tb := TypeOf(a), TypeOf(b)
	switch {
	case a == nil || b == nil:
		return nil
	case ta == "null":
		return b
	case tb == "null":
		return a
	case (ta == "integer" || ta == "number") && (tb == "integer" || tb == "number"):
		return arith(gojq.OpAdd, a, b)
	case ta == "string" && tb == "string":
		return Of("string")
	case ta == "array" && tb == "array":
		return Union(a, b)
	case ta == "object" && tb == "object":
		return mergeObjects(a, b)
	}
	return Any()
}

// mergeObjects is a + b for objects: b's properties win.
func mergeObjects(a, b Schema) Schema {
	pa, pb := Props(a), Props(b)
	if pa == nil || pb == nil {
		return Of("object")
	}
	props := map[string]Schema{}
	for k, v := range pa {
		props[k], _ = v.(Schema)
	}
	for k, v := range pb {
		props[k], _ = v.(Schema)
	}
	return ObjectOf(props)
}

func arith(op gojq.Operator, a, b Schema) Schema {
	ta, tb := TypeOf(a), TypeOf(b)
	num := func(t string) bool { return t == "integer" || t == "number" }
	switch {
	case a == nil || b == nil:
		return nil
	case ta == "integer" && tb == "integer" && op != gojq.OpDiv:
		return Of("integer")
	case num(ta) && num(tb):
		return Of("number")
	}
	return Any()
}
