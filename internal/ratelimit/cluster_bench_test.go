package ratelimit

import (
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
		for b.Loop() {
			if _, err := l.Allow(b.Context(), p, nil, "10.1.2.3"); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("local", func(b *testing.B) { run(b, New(lots, Options{})) })
	b.Run("cluster", func(b *testing.B) {
		srv := natstest.Server(b)
		ls, _ := replicas(b, []string{srv.URL(), srv.URL(), srv.URL()}, false)
		ls[0].setGlobal(lots)
		run(b, ls[0])
	})
}
