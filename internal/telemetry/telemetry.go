package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// Options are what New needs besides the configuration.
type Options struct {
	Logger  *slog.Logger
	Version string // service.version
	// TracerProvider replaces the one New would build (tests pass one
	// with an in-memory exporter).
	TracerProvider trace.TracerProvider
	// AccessLog, if set, receives the access lines directly, in the
	// format of Logger's handler, which must write to AccessLog.W (the
	// level is still Logger's).
	AccessLog *AccessLog
}

// Telemetry is the gateway's tracer and meter providers, instruments and
// /metrics handler. Shutdown flushes what is buffered.
type Telemetry struct {
	TracerProvider trace.TracerProvider
	Propagator     propagation.TextMapPropagator
	Metrics        *Metrics

	trust    bool
	tracer   trace.Tracer
	log      *slog.Logger
	direct   *AccessLog   // nil: access lines go through log
	handler  http.Handler // nil when telemetry.prometheus is false
	shutdown []func(context.Context) error
}

// New builds the telemetry that cfg (gateway.yaml `telemetry:`) asks for.
// Exporters connect lazily: an unreachable collector does not fail New.
func New(ctx context.Context, cfg gateway.Telemetry, opts Options) (*Telemetry, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Telemetry{Propagator: propagation.TraceContext{}, trust: cfg.TrustTraceparent, log: log, direct: opts.AccessLog}
	res := resource.NewSchemaless(
		attribute.String("service.name", cfg.ServiceName),
		attribute.String("service.version", opts.Version),
	)
	t.TracerProvider = opts.TracerProvider
	if t.TracerProvider == nil {
		tp, err := newTracerProvider(ctx, cfg, res)
		if err != nil {
			return nil, err
		}
		t.TracerProvider = tp
		t.shutdown = append(t.shutdown, tp.Shutdown)
	}
	t.tracer = t.TracerProvider.Tracer("github.com/manifoldgw/manifold/internal/telemetry")
	var mp metric.MeterProvider = metricnoop.NewMeterProvider()
	if cfg.Prometheus == nil || *cfg.Prometheus {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
		if err != nil {
			return nil, fmt.Errorf("prometheus exporter: %w", err)
		}
		// No exemplars: the Prometheus text format /metrics serves has no
		// place for them, and offering each measurement to a reservoir
		// costs every request a span-context lookup.
		smp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithResource(res),
			sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter))
		t.shutdown = append(t.shutdown, smp.Shutdown)
		t.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)})
		mp = smp
	}
	m, err := newMetrics(mp.Meter("github.com/manifoldgw/manifold"))
	if err != nil {
		return nil, err
	}
	t.Metrics = m
	return t, nil
}

// newTracerProvider exports to the OTLP endpoint if one is set. Without
// one, spans are not sampled (and not recorded) unless the caller's
// trusted traceparent says so, but every request still gets a trace id for
// its logs, audit event and problem documents.
func newTracerProvider(ctx context.Context, cfg gateway.Telemetry, res *resource.Resource) (*sdktrace.TracerProvider, error) {
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.OTLPEndpoint == "" {
		opts = append(opts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))
		return sdktrace.NewTracerProvider(opts...), nil
	}
	exp, err := otlpExporter(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	opts = append(opts, sdktrace.WithBatcher(exp), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	return sdktrace.NewTracerProvider(opts...), nil
}

func otlpExporter(ctx context.Context, cfg gateway.Telemetry) (sdktrace.SpanExporter, error) {
	isURL := strings.Contains(cfg.OTLPEndpoint, "://")
	if cfg.OTLPProtocol == "grpc" {
		opt := otlptracegrpc.WithEndpointURL(cfg.OTLPEndpoint)
		if !isURL {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(cfg.OTLPEndpoint), otlptracegrpc.WithInsecure())
		}
		return otlptracegrpc.New(ctx, opt)
	}
	if !isURL {
		return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(cfg.OTLPEndpoint), otlptracehttp.WithInsecure())
	}
	// A base URL gets the traces path, as OTEL_EXPORTER_OTLP_ENDPOINT does.
	endpoint := cfg.OTLPEndpoint
	if u, err := url.Parse(endpoint); err == nil && (u.Path == "" || u.Path == "/") {
		u.Path = "/v1/traces"
		endpoint = u.String()
	}
	return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
}

// MetricsHandler serves the Prometheus text format; nil when
// telemetry.prometheus is false.
func (t *Telemetry) MetricsHandler() http.Handler { return t.handler }

// Shutdown flushes buffered spans and stops the providers New built.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}
