package pipeline

import (
	"reflect"

	"github.com/goccy/go-yaml/ast"
)

// CheckKeys checks a YAML node against the Go type it will be decoded
// into, as the loader checks gateway.yaml and pipelines: every key t does
// not declare (by yaml tag), every value of the wrong shape and every
// value a custom unmarshaler refuses is reported, with the node to locate
// it at and its dotted key path. Other file kinds (`manifold test` files)
// use it to be as strict, with the same messages.
func CheckKeys(n ast.Node, t reflect.Type, report func(at ast.Node, key, msg string)) {
	checkKeys(n, t, "", report)
}
