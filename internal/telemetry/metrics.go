package telemetry

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/refusal"
)

// Attribute keys of the gateway's metrics. Every value comes from a
// bounded set: configured names, status codes and fixed words; never a raw
// path, a parameter or a consumer-supplied string.
const (
	attrMethod      = attribute.Key("http.request.method")
	attrRoute       = attribute.Key("http.route")
	attrStatus      = attribute.Key("http.response.status_code")
	attrStatusClass = attribute.Key("manifold.status_class")
	attrPipeline    = attribute.Key("manifold.pipeline")
	attrSurface     = attribute.Key("manifold.surface")
	attrUpstream    = attribute.Key("manifold.upstream")
	attrErrorType   = attribute.Key("error.type")
	attrCacheLayer  = attribute.Key("manifold.cache.layer")
	attrCacheName   = attribute.Key("manifold.cache.name")
	attrCacheResult = attribute.Key("manifold.cache.outcome")
	attrBreaker     = attribute.Key("manifold.breaker.state")
	attrLimit       = attribute.Key("manifold.limit")
	attrResult      = attribute.Key("manifold.result")
)

// durationBuckets are the OpenTelemetry HTTP semantic conventions'
// advice for durations in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// AuditStats are the audit publisher's numbers, read at each scrape.
type AuditStats struct {
	Queued  int64  // events waiting in memory
	Spooled int64  // events waiting in the spool on disk
	Dropped uint64 // events lost at the spool's bound, since start
}

// Metrics holds the gateway's instruments. It is an event.Recorder (one
// pipeline call) and a connectors.Observer (one upstream call).
type Metrics struct {
	requestDuration  metric.Float64Histogram
	activeRequests   metric.Int64UpDownCounter
	pipelineDuration metric.Float64Histogram
	upstreamDuration metric.Float64Histogram
	upstreamErrors   metric.Int64Counter
	cacheLookups     metric.Int64Counter
	rateLimited      metric.Int64Counter
	reloads          metric.Int64Counter

	sets metricSets

	// Refusals counts requests refused by a resource bound; surfaces add
	// to it, and it is exported as manifold.limit.refusals{limit}.
	Refusals *refusal.Counts

	upstreams  atomic.Pointer[func() []*connectors.Upstream]
	audit      atomic.Pointer[func() AuditStats]
	plan       atomic.Pointer[func() PlanInfo]
	rateLimit  atomic.Pointer[func() (int, bool)]
	lastReload atomic.Int64 // 1 when the last reload succeeded
	lastGood   atomic.Int64 // unix seconds of the last successful (re)load
}

var (
	_ event.Recorder      = (*Metrics)(nil)
	_ connectors.Observer = (*Metrics)(nil)
)

func newMetrics(m metric.Meter) (*Metrics, error) {
	ms := &Metrics{Refusals: new(refusal.Counts), sets: newMetricSets()}
	ms.lastReload.Store(1)
	ms.lastGood.Store(time.Now().Unix())
	b := builder{m: m}
	ms.requestDuration = b.histogram("http.server.request.duration", "Duration of HTTP server requests.")
	ms.activeRequests = b.upDown("http.server.active_requests", "{request}", "Number of active HTTP server requests.")
	ms.pipelineDuration = b.histogram("manifold.pipeline.duration", "Duration of pipeline calls, by pipeline, surface and status class.")
	ms.upstreamDuration = b.histogram("manifold.upstream.duration", "Duration of upstream calls through the resilience stack.")
	ms.upstreamErrors = b.counter("manifold.upstream.errors", "{call}", "Upstream calls that failed, by error type.")
	ms.cacheLookups = b.counter("manifold.cache.lookups", "{lookup}", "Cache lookups of steps and whole answers, by outcome.")
	ms.rateLimited = b.counter("manifold.ratelimit.rejections", "{call}", "Calls refused by a rate limit.")
	ms.reloads = b.counter("manifold.config.reloads", "{reload}", "Configuration reloads, by result.")
	b.gauge("manifold.upstream.breaker.state", "", "Circuit breaker state of each upstream: 1 for the current state.", ms.observeBreakers)
	b.gauge("manifold.upstream.inflight", "{call}", "Upstream calls in flight past the bulkhead.", ms.observeInFlight)
	b.gauge("manifold.audit.queue.depth", "{event}", "Audit events waiting, in memory and in the spool.", ms.observeAuditDepth)
	b.gauge("manifold.ratelimit.cluster.replicas", "{replica}", "Replicas the rate limits are shared among, this one included (1 outside a cluster).", ms.observeRateReplicas)
	b.gauge("manifold.ratelimit.cluster.fallback", "", "1 while NATS is unreachable and this replica enforces its share of every rate limit alone.", ms.observeRateFallback)
	b.counterFunc("manifold.audit.dropped", "{event}", "Audit events dropped at the spool's bound.", ms.observeAuditDropped)
	b.counterFunc("manifold.limit.refusals", "{request}", "Requests refused by a resource bound, by the gateway.yaml key that sets it.", func(o metric.Int64Observer) {
		ms.Refusals.Each(func(name string, n int64) { o.Observe(n, metric.WithAttributes(attrLimit.String(name))) })
	})
	b.gauge("manifold.plan.info", "", "The plan this replica serves: 1, with its revision, hash, replica and cluster.", ms.observePlan)
	b.gauge("manifold.config.last_reload_successful", "", "1 if the last configuration reload succeeded.", func(o metric.Int64Observer) {
		o.Observe(ms.lastReload.Load())
	})
	b.gauge("manifold.config.last_reload_success_timestamp", "s", "Unix time of the last successful configuration load.", func(o metric.Int64Observer) {
		o.Observe(ms.lastGood.Load())
	})
	return ms, b.err
}

// WatchUpstreams sets where the upstream gauges read from: the upstreams
// of the Runtime being served.
func (ms *Metrics) WatchUpstreams(f func() []*connectors.Upstream) { ms.upstreams.Store(&f) }

// WatchAudit sets where the audit gauges read from.
func (ms *Metrics) WatchAudit(f func() AuditStats) { ms.audit.Store(&f) }

// Record implements event.Recorder: one finished pipeline call.
func (ms *Metrics) Record(ctx context.Context, c *event.Call) {
	ms.pipelineDuration.Record(ctx, c.Duration.Seconds(),
		ms.sets.pipeline.get(pipelineAttrs{c.Pipeline, c.Surface, classOf(c.Status)}))
	if c.Cache != "" {
		ms.cacheLookups.Add(ctx, 1, ms.sets.cache.get(cacheAttrs{"response", c.Pipeline, c.Cache}))
	}
	if c.Status == 429 {
		ms.rateLimited.Add(ctx, 1, ms.sets.limited.get(c.Pipeline))
	}
}

// ObserveCall implements connectors.Observer: one finished upstream call.
func (ms *Metrics) ObserveCall(ctx context.Context, upstream string, resp *connectors.Response, err error, took time.Duration) {
	k := upstreamAttrs{upstream: upstream}
	if err != nil {
		k.errorType = connectors.ErrorType(err)
	}
	attrs := ms.sets.upstream.get(k)
	if err != nil {
		ms.upstreamErrors.Add(ctx, 1, attrs)
	}
	ms.upstreamDuration.Record(ctx, took.Seconds(), attrs)
	if resp != nil && resp.Cache != connectors.CacheNone {
		ms.cacheLookups.Add(ctx, 1, ms.sets.cache.get(cacheAttrs{"step", upstream, resp.Cache}))
	}
}

// RecordReload counts a reload and remembers whether it worked.
func (ms *Metrics) RecordReload(ctx context.Context, ok bool) {
	result := "success"
	if !ok {
		result = "failure"
		ms.lastReload.Store(0)
	} else {
		ms.lastReload.Store(1)
		ms.lastGood.Store(time.Now().Unix())
	}
	ms.reloads.Add(ctx, 1, metric.WithAttributes(attrResult.String(result)))
}

// request records one finished HTTP request.
func (ms *Metrics) request(ctx context.Context, method, route string, status int, took time.Duration) {
	ms.requestDuration.Record(ctx, took.Seconds(), ms.sets.request.get(requestAttrs{method, route, status}))
}

func (ms *Metrics) observeBreakers(o metric.Int64Observer) {
	for _, u := range ms.currentUpstreams() {
		state := u.BreakerState()
		for _, s := range []string{"closed", "half-open", "open"} {
			v := int64(0)
			if s == state {
				v = 1
			}
			o.Observe(v, metric.WithAttributes(attrUpstream.String(u.Name()), attrBreaker.String(s)))
		}
	}
}

func (ms *Metrics) observeInFlight(o metric.Int64Observer) {
	for _, u := range ms.currentUpstreams() {
		o.Observe(int64(u.InFlight()), metric.WithAttributes(attrUpstream.String(u.Name())))
	}
}

func (ms *Metrics) observeAuditDepth(o metric.Int64Observer) {
	if f := ms.audit.Load(); f != nil {
		s := (*f)()
		o.Observe(s.Queued, metric.WithAttributes(attribute.String("manifold.audit.queue", "memory")))
		o.Observe(s.Spooled, metric.WithAttributes(attribute.String("manifold.audit.queue", "spool")))
	}
}

func (ms *Metrics) observeAuditDropped(o metric.Int64Observer) {
	if f := ms.audit.Load(); f != nil {
		o.Observe(int64((*f)().Dropped))
	}
}

func (ms *Metrics) currentUpstreams() []*connectors.Upstream {
	if f := ms.upstreams.Load(); f != nil {
		return (*f)()
	}
	return nil
}

// statusClass is "2xx", "4xx", ...
// classOf is the first status of status's class (200 for 204), or 0
// outside 100-599; statusClass gives both the same label.
func classOf(status int) int {
	if status < 100 || status > 599 {
		return 0
	}
	return status / 100 * 100
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}
