// Package security attacks a running gateway from outside, over real
// HTTP on loopback: a locked-down configuration (API keys, JWT with a
// JWKS, token introspection, roles, rate limits, tight listener limits)
// and the demo. One table row per attack asserts the exact status and
// problem type and that no backend was called; another test runs traffic
// through every surface and greps all that the gateway emitted (logs,
// audit events, answers, OpenAPI, GraphQL, admin) for the configured
// secrets.
package security
