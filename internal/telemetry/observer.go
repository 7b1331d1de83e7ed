package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/internal/server"
)

// Observer returns the server.Observer of t: a server span per request,
// the HTTP server metrics and one access log line per request.
func (t *Telemetry) Observer() server.Observer { return observer{t} }

type observer struct{ t *Telemetry }

var _ server.Observer = observer{}

// Span attributes of server spans beyond those of the metrics.
const (
	attrURLPath   = attribute.Key("url.path")
	attrURLScheme = attribute.Key("url.scheme")
	attrClient    = attribute.Key("client.address")
	attrUserAgent = attribute.Key("user_agent.original")
	attrRequestID = attribute.Key("manifold.request_id")
	attrPipelines = attribute.Key("manifold.pipelines")
	attrCache     = attribute.Key("manifold.cache")
)

// Begin implements server.Observer. A caller's traceparent is continued
// when telemetry.trust_traceparent is set; otherwise the request starts a
// new trace that links to the caller's, so that a caller cannot choose
// our trace ids or sampling.
func (o observer) Begin(r *http.Request, route string) (*http.Request, func(*server.Exchange)) {
	t := o.t
	path := routePath(route)
	method := knownMethod(r.Method)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	// The sampler (parent-based) does not read attributes, so they are
	// set only on a span that records: without an OTLP endpoint, none do.
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	ctx := r.Context()
	remote := t.Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
	if t.trust {
		ctx = remote
	} else if sc := trace.SpanContextFromContext(remote); sc.IsValid() {
		opts = append(opts, trace.WithNewRoot(), trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	ctx, span := t.tracer.Start(ctx, spanName(method, route, path), opts...)
	if span.IsRecording() {
		span.SetAttributes(attrMethod.String(method), attrURLPath.String(r.URL.Path), attrURLScheme.String(scheme),
			attrUserAgent.String(r.UserAgent()))
		if path != "" {
			span.SetAttributes(attrRoute.String(path))
		}
	}
	active := t.Metrics.sets.active.get(activeAttrs{method, scheme})
	t.Metrics.activeRequests.Add(ctx, 1, active)
	return r.WithContext(ctx), func(x *server.Exchange) {
		t.Metrics.activeRequests.Add(ctx, -1, active)
		t.Metrics.request(ctx, method, path, x.Status, x.Duration)
		if span.IsRecording() {
			span.SetAttributes(attrStatus.Int(x.Status), attrRequestID.String(x.RequestID), attrClient.String(x.Client))
			if len(x.Pipelines) > 0 {
				span.SetAttributes(attrPipelines.StringSlice(x.Pipelines))
			}
			if x.Cache != "" {
				span.SetAttributes(attrCache.String(x.Cache))
			}
			if x.Status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(x.Status))
			}
		}
		span.End()
		t.access(ctx, x)
	}
}

// access writes the access log line of a request. Probes and scrapes are
// logged at debug level, server errors at warn.
func (t *Telemetry) access(ctx context.Context, x *server.Exchange) {
	level := slog.LevelInfo
	switch {
	case x.Status >= 500:
		level = slog.LevelWarn
	case x.Route == "GET /healthz" || x.Route == "GET /readyz" || x.Route == "GET /metrics":
		level = slog.LevelDebug
	}
	if !t.log.Enabled(ctx, level) {
		return
	}
	if t.direct != nil {
		t.direct.writeAccess(ctx, level, x)
		return
	}
	attrs := []slog.Attr{
		slog.String("method", x.Method), slog.String("path", x.Path), slog.String("route", routePath(x.Route)),
		slog.Int("status", x.Status), slog.Float64("duration_ms", float64(x.Duration.Microseconds())/1000),
		slog.Int64("bytes", x.Bytes), slog.String("request_id", x.RequestID), slog.String("client", x.Client),
	}
	if len(x.Pipelines) > 0 {
		attrs = append(attrs, slog.String("pipeline", strings.Join(x.Pipelines, ",")))
	}
	if x.Consumer != "" {
		attrs = append(attrs, slog.String("consumer", x.Consumer))
	}
	if x.Cache != "" {
		attrs = append(attrs, slog.String("cache", x.Cache))
	}
	t.log.LogAttrs(ctx, level, "request", attrs...)
}

// spanName is "METHOD /route" (the method alone for no route): the route
// pattern itself when it names the request's method, as it does unless a
// HEAD matched a GET route.
func spanName(method, route, path string) string {
	switch {
	case path == "":
		return method
	case len(route) == len(method)+1+len(path) && route[:len(method)] == method:
		return route
	}
	return method + " " + path
}

// routePath is the path template of a ServeMux pattern ("GET /a/{b}" →
// "/a/{b}").
func routePath(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return pattern[i+1:]
	}
	return pattern
}

// knownMethod bounds the method label: unknown methods are "_OTHER", as
// the HTTP semantic conventions say.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "_OTHER"
}
