// Package pipeline holds Manifold's pipeline language: the types a user
// writes in YAML (gateway.yaml and one file per pipeline), their strict
// loading and validation with file:line:column errors, their compilation
// into an immutable Plan (jq expressions compiled once, steps ordered by
// their needs), and the Engine that runs a compiled pipeline against
// upstream connectors.
//
// A run is a pure function of (pipeline, params, body, consumer) and the
// upstreams' answers: nothing here knows about the HTTP front end, so the
// engine can be tested with httptest backends alone.
package pipeline
