// Package yamlconf is what the loaders of gateway.yaml (internal/gateway)
// and of pipeline files (internal/pipeline) share: located errors
// (file:line:column and the dotted key), strict decoding that reports
// every unknown key and wrong value at once, the YAML node helpers those
// need, and the scalars both file kinds write (durations, sizes, rates).
package yamlconf

import "regexp"

// Identifier is the shape of pipeline, step, param and upstream names.
var Identifier = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
