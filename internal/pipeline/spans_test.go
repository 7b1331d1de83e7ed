package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// countingSampler is the gateway's sampler (parent-based, never sampling
// a root of its own), counting the spans started.
type countingSampler struct{ started atomic.Int64 }

func (s *countingSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	s.started.Add(1)
	return sdktrace.ParentBased(sdktrace.NeverSample()).ShouldSample(p)
}
func (s *countingSampler) Description() string { return "counting" }

// TestUnsampledRunStartsNoSpans: under a request whose trace is not
// sampled, a run starts no span for itself or its steps (nor do the
// upstream calls), and every backend gets the request's own span as the
// parent in its traceparent. A sampled request gets both kinds of span.
func TestUnsampledRunStartsNoSpans(t *testing.T) {
	var mu sync.Mutex
	var parents []string
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		parents = append(parents, r.Header.Get("Traceparent"))
		mu.Unlock()
		_, _ = w.Write([]byte(`{}`))
	})
	fsys := fstest.MapFS{
		"gateway.yaml": {Data: []byte(fmt.Sprintf("upstreams:\n  b: {url: %q}\n", b.URL))},
		"two.yaml":     {Data: []byte("name: two\npath: /two\nsteps:\n  x: {upstream: b, path: /x}\n  y: {upstream: b, path: /y}\n")},
	}
	plan, err := pipeline.Load(fsys, "", pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sampler, rec := &countingSampler{}, tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(rec))
	rt, err := server.BuildWith(plan, server.BuildOptions{TracerProvider: tp, Propagator: propagation.TraceContext{}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()

	ctx, root := tp.Tracer("test").Start(context.Background(), "request")
	if root.SpanContext().IsSampled() {
		t.Fatal("the request's span should not be sampled")
	}
	started := sampler.started.Load()
	if _, err := rt.Engine.Run(ctx, plan.Pipeline("two"), pipeline.Input{}); err != nil {
		t.Fatal(err)
	}
	if n := sampler.started.Load() - started; n != 0 {
		t.Errorf("an unsampled run started %d spans, want none", n)
	}
	sc := root.SpanContext()
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-00"
	if len(parents) != 2 || parents[0] != want || parents[1] != want {
		t.Errorf("traceparents %q, want two of %q", parents, want)
	}

	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true})
	if _, err := rt.Engine.Run(trace.ContextWithRemoteSpanContext(context.Background(), remote), plan.Pipeline("two"), pipeline.Input{}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
	}
	for _, name := range []string{"pipeline two", "step x", "step y"} {
		if !slices.Contains(names, name) {
			t.Errorf("sampled run: spans %q, want %q among them", names, name)
		}
	}
}
