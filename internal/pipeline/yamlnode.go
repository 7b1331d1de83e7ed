package pipeline

import (
	"fmt"
	"reflect"
	"sort"
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
// reports every mapping key the type does not know. goccy/go-yaml stops at
// the first unknown field; a user fixing a file wants all of them at once.
func checkKeys(n ast.Node, t reflect.Type, path string, report func(at ast.Node, key, msg string)) {
	n = unwrap(n)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil || t == anyType || reflect.PointerTo(t).Implements(nodeUnmarshaler) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		fields := yamlFields(t)
		for _, kv := range entries(n) {
			k := keyName(kv)
			ft, ok := fields[k]
			if !ok {
				report(kv.Key, join(path, k), fmt.Sprintf("unknown key %q (known: %s)", k, knownKeys(fields)))
				continue
			}
			checkKeys(kv.Value, ft, join(path, k), report)
		}
	case reflect.Map:
		for _, kv := range entries(n) {
			checkKeys(kv.Value, t.Elem(), join(path, keyName(kv)), report)
		}
	case reflect.Slice:
		if seq, ok := n.(*ast.SequenceNode); ok {
			for i, v := range seq.Values {
				checkKeys(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i), report)
			}
		}
	}
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
