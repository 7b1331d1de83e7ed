package pipeline

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

// keyName is the plain text of a mapping key, without quotes.
func keyName(kv *ast.MappingValueNode) string {
	return kv.Key.GetToken().Value
}

// unwrap looks through anchors and tags to the value node.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

// entries returns the key/value pairs of a mapping node (nil otherwise).
func entries(n ast.Node) []*ast.MappingValueNode {
	switch v := unwrap(n).(type) {
	case *ast.MappingNode:
		return v.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}
	}
	return nil
}

// isMapping reports whether n is a mapping.
func isMapping(n ast.Node) bool {
	switch unwrap(n).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

// firstKey returns the first key of a mapping, to locate errors about the
// whole document.
func firstKey(n ast.Node) ast.Node {
	if es := entries(n); len(es) > 0 {
		return es[0].Key
	}
	return n
}

// lookup follows keys down nested mappings. It returns the value node and
// the key node of the last key, or nils when a key is absent.
func lookup(n ast.Node, keys ...string) (value, key ast.Node) {
	value = n
	for _, k := range keys {
		var found *ast.MappingValueNode
		for _, kv := range entries(value) {
			if keyName(kv) == k {
				found = kv
				break
			}
		}
		if found == nil {
			return nil, nil
		}
		value, key = found.Value, found.Key
	}
	return value, key
}

// walkValues calls fn for every value node under n (mapping keys are not
// visited) with its dotted key path.
func walkValues(n ast.Node, path string, fn func(n ast.Node, path string)) {
	n = unwrap(n)
	if n == nil {
		return
	}
	fn(n, path)
	switch v := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		for _, kv := range entries(v) {
			walkValues(kv.Value, join(path, keyName(kv)), fn)
		}
	case *ast.SequenceNode:
		for i, e := range v.Values {
			walkValues(e, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}

// keyOrder returns the keys of the mapping at path, in written order.
func keyOrder(n ast.Node, path ...string) []string {
	m, _ := lookup(n, path...)
	var keys []string
	for _, kv := range entries(m) {
		keys = append(keys, keyName(kv))
	}
	return keys
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
	n = unwrap(n)
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
		var ne *nodeError
		switch {
		case errors.As(err, &ne):
			key := path // or the key inside n that the error is about
			walkValues(n, path, func(v ast.Node, p string) {
				if v == ne.node {
					key = p
				}
			})
			report(ne.node, key, ne.msg)
		case err != nil:
			report(n, path, err.Error())
		}
		return
	}
	if _, alias := n.(*ast.AliasNode); alias {
		return // goccy/go-yaml decodes it from its anchor, checked there
	}
	if want := wantKind(t, n); want != "" {
		report(n, path, fmt.Sprintf("want %s, got %s", want, describe(n)))
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		fields := yamlFields(t)
		for _, kv := range entries(n) {
			k := keyName(kv)
			ft, ok := fields[k]
			if !ok {
				report(kv.Key, join(path, k), unknownKey(k, fields))
				continue
			}
			checkKeys(kv.Value, ft, join(path, k), report)
		}
	case reflect.Map:
		for _, kv := range entries(n) {
			if _, err := strconv.Atoi(keyName(kv)); t.Key().Kind() == reflect.Int && err != nil {
				report(kv.Key, join(path, keyName(kv)), fmt.Sprintf("want an integer key, got %q", keyName(kv)))
				continue
			}
			checkKeys(kv.Value, t.Elem(), join(path, keyName(kv)), report)
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
		if d := editDistance(k, name); d < bestDist || d == bestDist && name < best {
			best, bestDist = name, d
		}
	}
	if best != "" && bestDist < len(k)/2+1 {
		return fmt.Sprintf("unknown key %q: did you mean %s?", k, best)
	}
	return fmt.Sprintf("unknown key %q (known: %s)", k, knownKeys(fields))
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
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

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
