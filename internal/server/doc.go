// Package server is Manifold's HTTP front: it builds the upstream
// connectors and the engine for a Plan, routes each pipeline's method and
// path to a run, and answers with JSON or an RFC 9457 problem.
package server
