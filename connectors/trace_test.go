package connectors

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/internal/cache"
)

type observed struct {
	mu    sync.Mutex
	calls []string // upstream/cache/error type
}

func (o *observed) ObserveCall(_ context.Context, upstream string, resp *Response, err error, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, upstream+"/"+resp.Cache+"/"+ErrorType(err))
}

// TestTracingSpansAndTraceparent makes a call that is retried once, then
// the same call again: the first gives a call span with two attempt spans,
// the backend sees each attempt's traceparent, and the second is a cache
// hit (the traceparent header is not part of the cache key).
func TestTracingSpansAndTraceparent(t *testing.T) {
	var calls atomic.Int64
	var mu sync.Mutex
	var parents []string
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		parents = append(parents, r.Header.Get("Traceparent"))
		mu.Unlock()
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	c, err := cache.New(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	obs := &observed{}
	cfg := config(t, srv.URL)
	cfg.Retries = 1
	u := newUpstream(t, cfg, Options{Cache: c, TracerProvider: tp, Propagator: propagation.TraceContext{}, Observer: obs})

	ctx, root := tp.Tracer("test").Start(context.Background(), "root")
	for range 2 {
		if _, err := u.Do(ctx, &Request{Method: "GET", Path: "/x", CacheTTL: time.Minute}); err != nil {
			t.Fatalf("call: %v", err)
		}
		c.Wait()
	}
	root.End()

	spans := exp.GetSpans()
	byName := map[string][]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
	}
	callSpans, attempts := byName["upstream test"], byName["GET"]
	if len(callSpans) != 2 || len(attempts) != 2 {
		t.Fatalf("got %d call spans and %d attempt spans, want 2 and 2", len(callSpans), len(attempts))
	}
	first, second := callSpans[0], callSpans[1]
	if got := attr(first.Attributes, AttrAttempts); got != "2" {
		t.Errorf("first call attempts: got %s, want 2", got)
	}
	if got := attr(first.Attributes, AttrCache); got != "miss" {
		t.Errorf("first call cache: got %s, want miss", got)
	}
	if got := attr(second.Attributes, AttrCache); got != "hit" {
		t.Errorf("second call cache: got %s, want hit", got)
	}
	for i, a := range attempts {
		if a.Parent.SpanID() != first.SpanContext.SpanID() {
			t.Errorf("attempt %d is not a child of the first call span", i+1)
		}
		if a.SpanKind != trace.SpanKindClient {
			t.Errorf("attempt %d kind: got %v, want client", i+1, a.SpanKind)
		}
		want := "00-" + a.SpanContext.TraceID().String() + "-" + a.SpanContext.SpanID().String() + "-01"
		if parents[i] != want {
			t.Errorf("traceparent of attempt %d: got %q, want %q", i+1, parents[i], want)
		}
	}
	if got := attr(attempts[1].Attributes, "http.request.resend_count"); got != "1" {
		t.Errorf("resend_count of the retry: got %q, want 1", got)
	}
	if got := attr(attempts[0].Attributes, "http.response.status_code"); got != "503" {
		t.Errorf("status of the first attempt: got %q, want 503", got)
	}
	if first.Parent.SpanID() != root.SpanContext().SpanID() {
		t.Error("call span is not a child of the caller's span")
	}
	want := []string{"test/miss/", "test/hit/"}
	if len(obs.calls) != 2 || obs.calls[0] != want[0] || obs.calls[1] != want[1] {
		t.Errorf("observed calls: got %v, want %v", obs.calls, want)
	}
}

func attr(kvs []attribute.KeyValue, key attribute.Key) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func TestErrorType(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"none", nil, ""},
		{"status", &StatusError{Status: 502}, "502"},
		{"breaker", ErrBreakerOpen, "breaker_open"},
		{"timeout", context.DeadlineExceeded, "timeout"},
		{"too large", ErrResponseTooLarge, "too_large"},
		{"graphql", &GraphQLError{Messages: []string{"x"}}, "graphql"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ErrorType(c.err); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

type answerAtOnce struct{}

func (answerAtOnce) Do(context.Context, *Request) (*Response, error) {
	return &Response{Status: 200, Attempts: 1}, nil
}

// BenchmarkTracingLayers is what the call and attempt layers add to a
// call: off, with the gateway's default provider (trace ids, nothing
// sampled) and with every span recorded.
func BenchmarkTracingLayers(b *testing.B) {
	cases := []struct {
		name string
		opts Options
	}{
		{"off", Options{}},
		{"unsampled", Options{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample())), Propagator: propagation.TraceContext{}}},
		{"recorded", Options{TracerProvider: sdktrace.NewTracerProvider(), Propagator: propagation.TraceContext{}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			u, _ := url.Parse("http://upstream.invalid")
			tr := newTracing(Config{Name: "b", URL: u}, c.opts, func() string { return "closed" })
			conn := tr.call(tr.attempt(answerAtOnce{}))
			req := &Request{Method: "GET", Path: "/x"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := conn.Do(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestUnsampledParentStartsNoSpans: under a request whose trace is not
// sampled (the gateway's default without an OTLP endpoint), an upstream
// call starts no span of its own; the backend still gets the request's
// trace id in an unsampled traceparent, and the observer still sees it.
func TestUnsampledParentStartsNoSpans(t *testing.T) {
	var parent atomic.Value
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		parent.Store(r.Header.Get("Traceparent"))
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))
	obs := &observed{}
	u := newUpstream(t, config(t, srv.URL), Options{TracerProvider: tp, Propagator: propagation.TraceContext{}, Observer: obs})

	ctx, root := tp.Tracer("test").Start(context.Background(), "root")
	if root.SpanContext().IsSampled() || !root.SpanContext().IsValid() {
		t.Fatal("the root should be valid and unsampled")
	}
	if _, err := u.Do(ctx, &Request{Method: "GET", Path: "/x"}); err != nil {
		t.Fatal(err)
	}
	root.End()
	sc := root.SpanContext()
	if got, want := parent.Load(), "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-00"; got != want {
		t.Errorf("traceparent: got %q, want %q", got, want)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans recorded, want none", n)
	}
	if len(obs.calls) != 1 {
		t.Errorf("observer saw %v, want one call", obs.calls)
	}
}

// recordOnly records every span without sampling it, as samplers feeding
// span metrics or tail sampling do.
type recordOnly struct{}

func (recordOnly) ShouldSample(sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{Decision: sdktrace.RecordOnly}
}
func (recordOnly) Description() string { return "recordOnly" }

// TestRecordingUnsampledParentKeepsItsSpans: a parent that records
// without being sampled still gets its call and attempt spans, and the
// call's failure lands on them, never on the caller's span.
func TestRecordingUnsampledParentKeepsItsSpans(t *testing.T) {
	srv := server(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	rec := tracetest.NewSpanRecorder() // sees every span that records, sampled or not
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(recordOnly{}), sdktrace.WithSpanProcessor(rec))
	u := newUpstream(t, config(t, srv.URL), Options{TracerProvider: tp, Propagator: propagation.TraceContext{}})
	ctx, root := tp.Tracer("test").Start(context.Background(), "root")
	if !root.IsRecording() || root.SpanContext().IsSampled() {
		t.Fatal("the root should record without being sampled")
	}
	_, _ = u.Do(ctx, &Request{Method: "GET", Path: "/x"})
	root.End()
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byName[s.Name()] = s
	}
	if r := byName["root"]; r == nil || r.Status().Code != 0 || len(r.Attributes()) != 0 || len(r.Events()) != 0 {
		t.Fatalf("the caller's span took the call's status, attributes or events: %+v", r)
	}
	if byName["upstream test"] == nil || byName["GET"] == nil {
		t.Fatalf("want a call span and an attempt span, got %v", keys(byName))
	}
	if got := attr(byName["GET"].Attributes(), "http.response.status_code"); got != "500" {
		t.Errorf("the attempt span's status code: %q, want 500", got)
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
