package audit

import (
	"context"
	"testing"
	"time"
)

// BenchmarkRecord measures what a request's goroutine pays for its audit
// event: building the entry and queueing it.
func BenchmarkRecord(b *testing.B) {
	p, err := Start(context.Background(), Config{DataDir: b.TempDir(), InProcess: true, QueueSize: 1 << 16}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Stop()
	c := call(1, "cityDeals")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p.Record(ctx, c)
		if len(p.queue) > 1<<15 { // let the publisher keep up: measure Record, not the spool
			b.StopTimer()
			for len(p.queue) > 0 {
				time.Sleep(time.Millisecond)
			}
			b.StartTimer()
		}
	}
}

// BenchmarkEncode measures the publisher's work per event.
func BenchmarkEncode(b *testing.B) {
	cfg := &Config{Subject: "manifold.audit", Source: "http://localhost:9080"}
	e := newEntry(context.Background(), call(1, "cityDeals"), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.encode(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublish measures an event's whole trip: queue, encoding,
// JetStream publish to the embedded server, storage and acknowledgement.
func BenchmarkPublish(b *testing.B) {
	p, err := Start(context.Background(), Config{DataDir: b.TempDir(), InProcess: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Stop()
	c := call(1, "cityDeals")
	ctx := context.Background()
	b.ReportAllocs()
	n := uint64(0)
	cpu0 := cpuNow()
	for b.Loop() {
		p.Record(ctx, c)
		n++
		if n%4096 == 0 {
			for p.Stats().Published < n-1024 {
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	for p.Stats().Published < n {
		time.Sleep(100 * time.Microsecond)
	}
	reportCPU(b, cpu0, int(n))
}

// BenchmarkTrickle: one event every 2ms, as at 500 requests/s, with the
// CPU time per event (cpu-µs/op) of the whole process; idle is the same
// loop without events, to subtract.
func BenchmarkTrickle(b *testing.B) {
	p, err := Start(context.Background(), Config{DataDir: b.TempDir(), InProcess: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Stop()
	c := call(1, "cityDeals")
	ctx := context.Background()
	for _, record := range []bool{false, true} {
		b.Run(map[bool]string{false: "idle", true: "audit"}[record], func(b *testing.B) {
			n := 0
			cpu0 := cpuNow()
			for b.Loop() {
				if record {
					p.Record(ctx, c)
				}
				n++
				time.Sleep(2 * time.Millisecond)
			}
			reportCPU(b, cpu0, n)
		})
	}
}

func reportCPU(b *testing.B, start time.Duration, n int) {
	b.ReportMetric(float64(cpuNow()-start)/float64(n)/1e3, "cpu-µs/op")
}
