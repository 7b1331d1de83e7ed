package console

import (
	"context"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// BenchmarkRingRecord is what the console's recorder adds to every call:
// a cityDeals-shaped call (four steps) counted in its pipeline's and
// upstreams' slots, kept among the recent calls, with one Live watcher.
func BenchmarkRingRecord(b *testing.B) {
	r := NewRing(nil)
	calls, stop, _ := r.Watch()
	defer stop()
	go func() {
		for range calls {
		}
	}()
	steps := []pipeline.StepTrace{
		{Name: "markets", Upstream: "markets", Calls: 1, Duration: time.Millisecond, Cache: "miss"},
		{Name: "deals", Upstream: "deals", Calls: 5, Duration: 2 * time.Millisecond, Cache: "miss"},
		{Name: "products", Upstream: "products", Calls: 1, Duration: time.Millisecond, Cache: "hit"},
		{Name: "translate", Upstream: "translation", Calls: 1, Duration: time.Millisecond},
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Record(ctx, &event.Call{Pipeline: "cityDeals", Status: 200, Start: time.Now(), Duration: 4 * time.Millisecond, Cache: "miss", Steps: steps})
		}
	})
}
