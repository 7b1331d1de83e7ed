// Package gateway is gateway.yaml: its types, their defaults (applied in
// one place), its validation and its loading, with every error located at
// file:line:column. Each feature package takes its own section of Config
// (Server, Upstreams, Auth and Consumers, Audit, Telemetry, GraphQL, MCP);
// the pipeline language (internal/pipeline) reads the upstreams and
// defaults its pipelines refer to, and this package knows nothing of it.
package gateway
