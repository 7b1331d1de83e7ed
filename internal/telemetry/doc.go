// Package telemetry makes the gateway observable with OpenTelemetry: the
// tracer provider (OTLP export over gRPC or HTTP when
// telemetry.otlp_endpoint is set, nothing exported otherwise), W3C trace
// context propagation, the meter provider with its Prometheus exporter
// (/metrics), the gateway's instruments, and logs that carry the trace.
//
// Nothing here touches the OpenTelemetry globals: the providers are built
// by New and passed down (server.BuildOptions, connectors.Options,
// pipeline.EngineOptions), so that tests can pass their own.
//
// The pieces the gateway plugs in:
//   - Telemetry.Observer: a server.Observer that starts the server span of
//     each request, records the HTTP server metrics and writes the access
//     log line;
//   - Telemetry.Metrics: an event.Recorder for pipeline calls and a
//     connectors.Observer for upstream calls;
//   - Telemetry.Surface: mounts GET /metrics;
//   - LogHandler: wraps a slog.Handler to add trace_id and span_id.
package telemetry
