// Package pipelines holds the demo pipeline directory: gateway.yaml and one
// file per pipeline. It is embedded so that `manifold demo` works from any
// directory, and it is also a plain directory `manifold serve --dir` reads.
package pipelines

import "embed"

// FS is the demo directory.
//
//go:embed *.yaml openapi/*.yaml logo.png legal.md
var FS embed.FS
