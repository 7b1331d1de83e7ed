package connectors

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkUpstreamStack is one call through the whole default stack
// (coalescer, breaker, bulkhead, timeout, retrier, transport) against an
// httptest backend, each call with its own query as the gateway's
// requests have their own ids, so none is shared: what every upstream
// call of a fan-out costs the gateway. The traced runs add what the
// gateway's telemetry adds by default: an unsampled request span (no OTLP
// endpoint), its traceparent sent upstream.
func BenchmarkUpstreamStack(b *testing.B) {
	srv := server(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"` + r.URL.Query().Get("id") + `","price":1}`))
	})
	cfg := config(b, srv.URL)
	cfg.Timeout, cfg.Concurrency = 2*time.Second, 256 // as test/bench's fan-out
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))
	b.Cleanup(func() { tp.Shutdown(context.Background()) })
	traced, span := tp.Tracer("bench").Start(context.Background(), "request")
	defer span.End()
	for _, run := range []struct {
		name string
		opts Options
		ctx  context.Context
	}{
		{"plain", Options{}, context.Background()},
		{"traced", Options{TracerProvider: tp, Propagator: propagation.TraceContext{}}, traced},
	} {
		u := newUpstream(b, cfg, run.opts)
		var seq atomic.Int64
		call := func() error {
			id := strconv.FormatInt(seq.Add(1), 10)
			req := &Request{Method: "GET", Path: "/items/" + id, Query: url.Values{"id": {id}}}
			_, err := u.Do(run.ctx, req)
			return err
		}
		if err := call(); err != nil { // warm the pool up
			b.Fatal(err)
		}
		b.Run(run.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(run.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := call(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
