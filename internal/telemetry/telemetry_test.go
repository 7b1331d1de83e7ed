package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/server"
)

func on() *bool { b := true; return &b }

// newTest builds telemetry with an in-memory exporter and a JSON logger
// writing to buf.
func newTest(t *testing.T, cfg gateway.Telemetry, buf *bytes.Buffer) (*Telemetry, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	log := slog.New(LogHandler(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if cfg.Prometheus == nil {
		cfg.Prometheus = on()
	}
	tel, err := New(context.Background(), cfg, Options{Logger: log, TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return tel, exp
}

func TestLogHandlerAddsTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "x")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "s")
	log.InfoContext(ctx, "with span")
	span.End()
	log.Info("without span")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var with, without map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &with)
	_ = json.Unmarshal([]byte(lines[1]), &without)
	if with["trace_id"] != span.SpanContext().TraceID().String() || with["span_id"] != span.SpanContext().SpanID().String() {
		t.Errorf("line with a span: %s, want its trace_id and span_id", lines[0])
	}
	if _, ok := without["trace_id"]; ok {
		t.Errorf("line without a span has a trace_id: %s", lines[1])
	}
}

// TestObserverTraceparent checks the server span of a request with a
// caller's traceparent, trusted or not, and its access log line.
func TestObserverTraceparent(t *testing.T) {
	const caller = "0af7651916cd43dd8448eb211c80319c"
	cases := []struct {
		name      string
		trust     bool
		wantTrace bool // the span continues the caller's trace
	}{
		{"untrusted starts a new trace linked to the caller's", false, false},
		{"trusted continues the caller's trace", true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			tel, exp := newTest(t, gateway.Telemetry{TrustTraceparent: c.trust}, &buf)
			r := httptest.NewRequest("GET", "/v1/cities/Berlin/deals?key=secret-value", nil)
			r.Header.Set("Traceparent", "00-"+caller+"-b7ad6b7169203331-01")
			r, end := tel.Observer().Begin(r, "GET /v1/cities/{city}/deals")
			end(&server.Exchange{Method: "GET", Route: "GET /v1/cities/{city}/deals", Path: r.URL.Path, Status: 502,
				Duration: 3 * time.Millisecond, RequestID: "rid", Pipelines: []string{"cityDeals"}})
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("got %d spans, want 1", len(spans))
			}
			s := spans[0]
			if s.Name != "GET /v1/cities/{city}/deals" || s.SpanKind != trace.SpanKindServer {
				t.Errorf("span %q kind %v", s.Name, s.SpanKind)
			}
			if got := s.SpanContext.TraceID().String() == caller; got != c.wantTrace {
				t.Errorf("continues the caller's trace: %v, want %v", got, c.wantTrace)
			}
			if !c.trust && (len(s.Links) != 1 || s.Links[0].SpanContext.TraceID().String() != caller) {
				t.Errorf("links %v, want one to the caller's span", s.Links)
			}
			line := buf.String()
			for _, want := range []string{`"msg":"request"`, `"status":502`, `"route":"/v1/cities/{city}/deals"`, `"pipeline":"cityDeals"`,
				`"trace_id":"` + s.SpanContext.TraceID().String()} {
				if !strings.Contains(line, want) {
					t.Errorf("access line lacks %s: %s", want, line)
				}
			}
			if strings.Contains(line, "secret-value") || !strings.Contains(line, `"level":"WARN"`) {
				t.Errorf("access line shows the query or is not a warning for a 502: %s", line)
			}
		})
	}
}

// TestMetricsExposition records known calls and reads /metrics.
func TestMetricsExposition(t *testing.T) {
	var buf bytes.Buffer
	tel, _ := newTest(t, gateway.Telemetry{ServiceName: "manifold"}, &buf)
	ctx := context.Background()
	for range 3 {
		tel.Metrics.Record(ctx, &event.Call{Pipeline: "p", Surface: event.SurfaceREST, Status: 200, Cache: "hit", Duration: time.Millisecond})
	}
	tel.Metrics.Record(ctx, &event.Call{Pipeline: "p", Surface: event.SurfaceMCP, Status: 429})
	tel.Metrics.ObserveCall(ctx, "up", &connectors.Response{Cache: connectors.CacheStale}, nil, time.Millisecond)
	tel.Metrics.ObserveCall(ctx, "up", &connectors.Response{}, &connectors.StatusError{Status: 503}, time.Millisecond)
	tel.Metrics.RecordReload(ctx, false)
	tel.Metrics.WatchAudit(func() AuditStats { return AuditStats{Queued: 4, Spooled: 2, Dropped: 7} })
	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`manifold_pipeline_duration_seconds_count{manifold_pipeline="p",manifold_status_class="2xx",manifold_surface="rest"} 3`,
		`manifold_cache_lookups_total{manifold_cache_layer="response",manifold_cache_name="p",manifold_cache_outcome="hit"} 3`,
		`manifold_ratelimit_rejections_total{manifold_pipeline="p"} 1`,
		`manifold_cache_lookups_total{manifold_cache_layer="step",manifold_cache_name="up",manifold_cache_outcome="stale"} 1`,
		`manifold_upstream_errors_total{error_type="503",manifold_upstream="up"} 1`,
		`manifold_config_reloads_total{manifold_result="failure"} 1`,
		`manifold_config_last_reload_successful 0`,
		`manifold_audit_queue_depth{manifold_audit_queue="memory"} 4`,
		`manifold_audit_dropped_total 7`,
		`target_info{service_name="manifold"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestOTLPExport sends spans to a fake OTLP/HTTP collector when
// otlp_endpoint is set, and records none without it.
func TestOTLPExport(t *testing.T) {
	var posts atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/v1/traces" {
			posts.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	cases := []struct {
		name      string
		endpoint  string
		recording bool
	}{
		{"exported to the endpoint", collector.URL, true},
		{"nothing without an endpoint", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tel, err := New(context.Background(), gateway.Telemetry{OTLPEndpoint: c.endpoint, OTLPProtocol: "http"}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			before := posts.Load()
			_, span := tel.TracerProvider.Tracer("t").Start(context.Background(), "s")
			if span.IsRecording() != c.recording || !span.SpanContext().HasTraceID() {
				t.Errorf("recording %v (trace id %v), want %v with a trace id", span.IsRecording(), span.SpanContext().HasTraceID(), c.recording)
			}
			span.End()
			if err := tel.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := posts.Load() > before; got != c.recording {
				t.Errorf("collector received spans: %v, want %v", got, c.recording)
			}
		})
	}
}

// BenchmarkRecordRequest is what metrics cost one request answered from
// the response cache: the request histogram, the active-requests counter
// (twice), the pipeline histogram and the cache counter.
func BenchmarkRecordRequest(b *testing.B) {
	var buf bytes.Buffer
	tel, err := New(context.Background(), gateway.Telemetry{ServiceName: "manifold", Prometheus: on()},
		Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	ctx := context.Background()
	call := &event.Call{Pipeline: "p", Surface: event.SurfaceREST, Status: 200, Cache: "hit", Duration: time.Millisecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			active := tel.Metrics.sets.active.get(activeAttrs{"GET", "http"})
			tel.Metrics.activeRequests.Add(ctx, 1, active)
			tel.Metrics.activeRequests.Add(ctx, -1, active)
			tel.Metrics.request(ctx, "GET", "/v1/p", 200, time.Millisecond)
			tel.Metrics.Record(ctx, call)
		}
	})
}
