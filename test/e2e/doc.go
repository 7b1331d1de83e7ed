// Package e2e holds end-to-end tests: they start the gateway the way a user
// does (internal/launch, the same code as `manifold demo` and `manifold
// serve`) on 127.0.0.1 and talk to it over HTTP.
package e2e
