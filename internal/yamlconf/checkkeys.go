package yamlconf

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// CheckKeys checks a YAML node against the Go type it will be decoded
// into, as the loaders check gateway.yaml and pipelines: every key t does
// not declare (by yaml tag), every value of the wrong shape and every
// value a custom unmarshaler refuses is reported, with the node to locate
// it at and its dotted key path. Other file kinds (`manifold test` files)
// use it to be as strict, with the same messages.
func CheckKeys(n ast.Node, t reflect.Type, report func(at ast.Node, key, msg string)) {
	checkKeys(n, t, "", report)
}

var (
	nodeUnmarshaler = reflect.TypeOf((*yaml.NodeUnmarshaler)(nil)).Elem()
	anyType         = reflect.TypeOf((*any)(nil)).Elem()
)

// checkKeys walks a YAML node alongside the Go type it decodes into and
// reports every mapping key the type does not know, every value of the
// wrong shape (a string where an integer belongs, a list for a mapping) and
// every value a custom unmarshaler (Duration, Size, Rate, Access, ...)
// refuses. goccy/go-yaml stops at the first problem and names Go types; a
// user fixing a file wants all of them at once, by key.
func checkKeys(n ast.Node, t reflect.Type, path string, report func(at ast.Node, key, msg string)) {
	n = Unwrap(n)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil || t == anyType {
		return
	}
	if _, null := n.(*ast.NullNode); null {
		return // written but empty: not set
	}
	if reflect.PointerTo(t).Implements(nodeUnmarshaler) {
		err := reflect.New(t).Interface().(yaml.NodeUnmarshaler).UnmarshalYAML(n)
		var ne *NodeError
		switch {
		case errors.As(err, &ne):
			key := path // or the key inside n that the error is about
			WalkValues(n, path, func(v ast.Node, p string) {
				if v == ne.Node {
					key = p
				}
			})
			report(ne.Node, key, ne.Msg)
		case err != nil:
			report(n, path, err.Error())
		}
		return
	}
	if _, alias := n.(*ast.AliasNode); alias {
		return // goccy/go-yaml decodes it from its anchor, checked there
	}
	if want := wantKind(t, n); want != "" {
		report(n, path, fmt.Sprintf("want %s, got %s", want, Describe(n)))
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		fields := yamlFields(t)
		for _, kv := range Entries(n) {
			k := KeyName(kv)
			ft, ok := fields[k]
			if !ok {
				report(kv.Key, Join(path, k), unknownKey(k, fields))
				continue
			}
			checkKeys(kv.Value, ft, Join(path, k), report)
		}
	case reflect.Map:
		for _, kv := range Entries(n) {
			if _, err := strconv.Atoi(KeyName(kv)); t.Key().Kind() == reflect.Int && err != nil {
				report(kv.Key, Join(path, KeyName(kv)), fmt.Sprintf("want an integer key, got %q", KeyName(kv)))
				continue
			}
			checkKeys(kv.Value, t.Elem(), Join(path, KeyName(kv)), report)
		}
	case reflect.Slice:
		for i, v := range n.(*ast.SequenceNode).Values {
			checkKeys(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i), report)
		}
	}
}

// wantKind returns what a node of type t must be ("a mapping", "an
// integer", ...) when n is not that, or "".
func wantKind(t reflect.Type, n ast.Node) string {
	ok := true
	want := ""
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		_, m := n.(*ast.MappingNode)
		_, mv := n.(*ast.MappingValueNode)
		ok, want = m || mv, "a mapping"
	case reflect.Slice:
		_, ok = n.(*ast.SequenceNode)
		want = "a list"
	case reflect.String:
		switch n.(type) {
		case *ast.StringNode, *ast.LiteralNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		default:
			ok, want = false, "a string"
		}
	case reflect.Bool:
		_, ok = n.(*ast.BoolNode)
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		_, ok = n.(*ast.IntegerNode)
		want = "an integer"
	case reflect.Float32, reflect.Float64:
		switch n.(type) {
		case *ast.IntegerNode, *ast.FloatNode:
		default:
			ok, want = false, "a number"
		}
	}
	if ok {
		return ""
	}
	return want
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fields[name] = f.Type
	}
	return fields
}

// unknownKey says that k is unknown and suggests the key the user most
// likely meant, or lists the known ones.
func unknownKey(k string, fields map[string]reflect.Type) string {
	best, bestDist := "", 3 // at most two edits away
	for name := range fields {
		if d := EditDistance(k, name); d < bestDist || d == bestDist && name < best {
			best, bestDist = name, d
		}
	}
	if best != "" && bestDist < len(k)/2+1 {
		return fmt.Sprintf("unknown key %q: did you mean %s?", k, best)
	}
	return fmt.Sprintf("unknown key %q (known: %s)", k, knownKeys(fields))
}

// EditDistance is the Levenshtein distance between a and b.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func knownKeys(fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
