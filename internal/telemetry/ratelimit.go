package telemetry

import "go.opentelemetry.io/otel/metric"

// WatchRateLimit sets where the cluster rate-limit gauges read from:
// ratelimit.(*Limiter).ClusterState, the replicas the limits are shared
// among and whether this replica is falling back to its share alone.
func (ms *Metrics) WatchRateLimit(f func() (replicas int, fallback bool)) { ms.rateLimit.Store(&f) }

func (ms *Metrics) observeRateReplicas(o metric.Int64Observer) {
	if f := ms.rateLimit.Load(); f != nil {
		n, _ := (*f)()
		o.Observe(int64(n))
	}
}

func (ms *Metrics) observeRateFallback(o metric.Int64Observer) {
	if f := ms.rateLimit.Load(); f != nil {
		var v int64
		if _, fallback := (*f)(); fallback {
			v = 1
		}
		o.Observe(v)
	}
}
