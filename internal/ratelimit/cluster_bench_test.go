package ratelimit

import (
	"syscall"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/natstest"
)

// BenchmarkAllowCluster is the request path with the limits local and
// with them shared by 3 replicas (the exchange running): compare ns/op.
func BenchmarkAllowCluster(b *testing.B) {
	lots := perRate(1_000_000_000, time.Second, 1_000_000_000)
	p := compiled("search", lots)
	run := func(b *testing.B, l *Limiter) {
		b.ReportAllocs()
		start := cpuTime()
		for b.Loop() {
			if _, err := l.Allow(b.Context(), p, nil, "10.1.2.3"); err != nil {
				b.Fatal(err)
			}
		}
		// The process's CPU, the exchange's goroutines and the in-process
		// nats-server included: wall time on a shared machine says less.
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
	// Both run beside the same in-process nats-server and replicas, so
	// that they pay the same garbage collection for its heap.
	srv := natstest.Server(b)
	ls, _, _ := replicas(b, []string{srv.URL(), srv.URL(), srv.URL()}, false)
	ls[0].setGlobal(lots)
	b.Run("local", func(b *testing.B) { run(b, New(lots, Options{})) })
	b.Run("cluster", func(b *testing.B) { run(b, ls[0]) })
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
