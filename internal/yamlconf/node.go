package yamlconf

import (
	"fmt"

	"github.com/goccy/go-yaml/ast"
)

// KeyName is the plain text of a mapping key, without quotes.
func KeyName(kv *ast.MappingValueNode) string {
	return kv.Key.GetToken().Value
}

// Unwrap looks through anchors and tags to the value node.
func Unwrap(n ast.Node) ast.Node {
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

// Entries returns the key/value pairs of a mapping node (nil otherwise).
func Entries(n ast.Node) []*ast.MappingValueNode {
	switch v := Unwrap(n).(type) {
	case *ast.MappingNode:
		return v.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}
	}
	return nil
}

// IsMapping reports whether n is a mapping.
func IsMapping(n ast.Node) bool {
	switch Unwrap(n).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

// FirstKey returns the first key of a mapping, to locate errors about the
// whole document.
func FirstKey(n ast.Node) ast.Node {
	if es := Entries(n); len(es) > 0 {
		return es[0].Key
	}
	return n
}

// Lookup follows keys down nested mappings. It returns the value node and
// the key node of the last key, or nils when a key is absent.
func Lookup(n ast.Node, keys ...string) (value, key ast.Node) {
	value = n
	for _, k := range keys {
		var found *ast.MappingValueNode
		for _, kv := range Entries(value) {
			if KeyName(kv) == k {
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

// WalkValues calls fn for every value node under n (mapping keys are not
// visited) with its dotted key path.
func WalkValues(n ast.Node, path string, fn func(n ast.Node, path string)) {
	n = Unwrap(n)
	if n == nil {
		return
	}
	fn(n, path)
	switch v := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		for _, kv := range Entries(v) {
			WalkValues(kv.Value, Join(path, KeyName(kv)), fn)
		}
	case *ast.SequenceNode:
		for i, e := range v.Values {
			WalkValues(e, fmt.Sprintf("%s[%d]", path, i), fn)
		}
	}
}

// KeyOrder returns the keys of the mapping at path, in written order.
func KeyOrder(n ast.Node, path ...string) []string {
	m, _ := Lookup(n, path...)
	var keys []string
	for _, kv := range Entries(m) {
		keys = append(keys, KeyName(kv))
	}
	return keys
}

// Join appends key to a dotted key path.
func Join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
