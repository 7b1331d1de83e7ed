package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/cache"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// BuildOptions are the dependencies of a Runtime; nil fields mean "none".
type BuildOptions struct {
	Logger *slog.Logger
	// TracerProvider makes spans for runs, steps, upstream calls and
	// attempts; Propagator sends the trace context to upstreams.
	TracerProvider trace.TracerProvider
	Propagator     propagation.TextMapPropagator
	// Observer is told about every upstream call (metrics).
	Observer connectors.Observer
	// Transport wraps or replaces each upstream's HTTP round tripper
	// (connectors.Options.Transport): `manifold test` fakes the
	// exchanges with it and nothing else.
	Transport func(upstream string, pool http.RoundTripper) http.RoundTripper
	// Previous is the Runtime this one replaces (a reload). Its upstreams
	// whose configuration is unchanged are reused, with their breakers and
	// pools, and so is its cache if its size is unchanged; the cache
	// entries of changed upstreams and pipelines are purged. Previous then
	// keeps serving until Release.
	Previous *Runtime
	// SharedBreakers is the cluster's breaker store (cluster mode), for
	// upstreams with `breaker: {shared: true}`; nil: they stay local.
	SharedBreakers *connectors.SharedBreakers
	// Now is the clock of the answer cache (tests); nil: time.Now. A
	// reload that keeps the cache keeps its clock.
	Now func() time.Time
}

// BuildWith creates the connectors and the engine of plan.
func BuildWith(plan *pipeline.Plan, opts BuildOptions) (*Runtime, error) {
	prev := opts.Previous
	rt := &Runtime{Plan: plan, upstreams: map[string]*connectors.Upstream{}, configs: map[string]connectors.Config{}}
	if prev != nil && prev.cache != nil && prev.Plan.Gateway.Cache.MaxSize == plan.Gateway.Cache.MaxSize {
		rt.cache = prev.cache
	} else {
		c, err := cache.NewWithClock(int64(plan.Gateway.Cache.MaxSize), opts.Now)
		if err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
		rt.cache = c
	}
	copts := connectors.Options{Logger: opts.Logger, Cache: rt.cache, TracerProvider: opts.TracerProvider,
		Propagator: opts.Propagator, Observer: opts.Observer, Transport: opts.Transport,
		SharedBreakers: opts.SharedBreakers}
	conns := map[string]connectors.Connector{}
	for name, u := range plan.Gateway.Upstreams {
		cfg, err := upstreamConfig(name, u)
		if err != nil {
			rt.Release(prev)
			return nil, err
		}
		up := prev.reusable(name, cfg, rt.cache)
		if up == nil {
			if up, err = connectors.New(cfg, copts); err != nil {
				rt.Release(prev)
				return nil, err
			}
		}
		rt.upstreams[name], rt.configs[name], conns[name] = up, cfg, up
	}
	rt.Engine = pipeline.NewEngine(conns, pipeline.EngineOptions{
		MaxResponse: int(plan.Gateway.Server.MaxResponse), TracerProvider: opts.TracerProvider})
	if prev != nil && rt.cache == prev.cache {
		rt.changed = rt.changedNamespaces(prev)
		rt.PurgeChanged()
	}
	return rt, nil
}

// PurgeChanged purges the cache namespaces of the upstreams and pipelines
// that changed against the Runtime this one replaced. BuildWith does it
// once; the reloader does it again once the old Runtime has drained, so
// that nothing an old run stored in between outlives the reload.
func (rt *Runtime) PurgeChanged() {
	for _, ns := range rt.changed {
		rt.cache.PurgeNamespace(ns)
	}
}

// reusable returns prev's upstream called name if it was built from cfg
// with the same cache, or nil. A nil prev has nothing to reuse.
func (prev *Runtime) reusable(name string, cfg connectors.Config, c *cache.Cache) *connectors.Upstream {
	if prev == nil || prev.cache != c {
		return nil
	}
	old, ok := prev.configs[name]
	if !ok || !sameConfig(old, cfg) {
		return nil
	}
	return prev.upstreams[name]
}

// sameConfig compares two upstream configs. A *tls.Config is rebuilt from
// its files at every load and holds a CertPool that reflect.DeepEqual
// never finds equal, so TLS is compared by what it trusts and presents.
func sameConfig(a, b connectors.Config) bool {
	ta, tb := a.TLS, b.TLS
	a.TLS, b.TLS = nil, nil
	if !reflect.DeepEqual(a, b) || (ta == nil) != (tb == nil) {
		return false
	}
	if ta == nil {
		return true
	}
	if ta.ServerName != tb.ServerName || ta.InsecureSkipVerify != tb.InsecureSkipVerify || len(ta.Certificates) != len(tb.Certificates) {
		return false
	}
	if (ta.RootCAs == nil) != (tb.RootCAs == nil) || ta.RootCAs != nil && !ta.RootCAs.Equal(tb.RootCAs) {
		return false
	}
	for i := range ta.Certificates {
		if !slices.EqualFunc(ta.Certificates[i].Certificate, tb.Certificates[i].Certificate, bytes.Equal) {
			return false
		}
	}
	return true
}

// changedNamespaces lists the cache namespaces whose entries prev's plan
// made and rt's plan must not serve: changed or dropped upstreams, and
// pipelines that changed, were dropped, or call a changed upstream.
func (rt *Runtime) changedNamespaces(prev *Runtime) []string {
	changed := map[string]bool{}
	var ns []string
	for name, u := range prev.upstreams {
		if rt.upstreams[name] != u {
			changed[name] = true
			ns = append(ns, name)
		}
	}
	for _, old := range prev.Plan.Pipelines {
		p := rt.Plan.Pipeline(old.Name)
		if p == nil || p.SHA256 != old.SHA256 || slices.ContainsFunc(p.StepOrder, func(s string) bool {
			return changed[p.Steps[s].Upstream]
		}) {
			ns = append(ns, ResponseNamespace(old.Name))
		}
	}
	return ns
}

// Release closes what rt holds and next does not use: its Engine's step
// workers, the upstreams next did not take over, and the cache if next
// has its own. Release(nil) closes everything (Close). After a reload, the
// old Runtime is released against the new one once its requests have
// drained; a new Runtime that could not be served is released against the
// old one.
func (rt *Runtime) Release(next *Runtime) {
	if rt.Engine != nil {
		rt.Engine.Close()
	}
	for name, u := range rt.upstreams {
		if next == nil || next.upstreams[name] != u {
			u.Close()
		}
	}
	if rt.cache != nil && (next == nil || next.cache != rt.cache) {
		rt.cache.Close()
	}
}

// Drain waits until no request is being served on rt, or ctx ends. The
// Server counts a request from its arrival to its last byte.
func (rt *Runtime) Drain(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for rt.active.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d requests still in flight: %w", rt.active.Load(), context.Cause(ctx))
		case <-tick.C:
		}
	}
	return nil
}

// Active is the number of requests being served on rt.
func (rt *Runtime) Active() int64 { return rt.active.Load() }

// Upstreams returns the upstreams, sorted by name, for operators' views.
func (rt *Runtime) Upstreams() []*connectors.Upstream {
	out := make([]*connectors.Upstream, 0, len(rt.upstreams))
	for _, u := range rt.upstreams {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *connectors.Upstream) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

// acquire returns the routes being served, counted as in use by one more
// request until release. Swap may happen in between; the re-check makes
// sure a Runtime that Drain saw idle is never used afterwards.
func (s *Server) acquire() *routes {
	for {
		r := s.current.Load()
		r.rt.active.Add(1)
		if s.current.Load() == r {
			return r
		}
		r.rt.active.Add(-1)
	}
}

func (rt *Runtime) release() { rt.active.Add(-1) }

// hold is a request's claim on the Runtime it arrived on, and what the
// calls made on the request's behalf need from it (the exchange being
// logged, the trace id, the caller's headers): one context value for all
// of them instead of a context layer and a request copy for each.
type hold struct {
	rt *Runtime
	// mu guards released: once the request's count on rt is given back
	// (the request ended, or detached), no call may take one through it.
	mu       sync.Mutex
	released bool

	// x is the exchange observe builds (nil when nothing observes), and
	// trace its trace id, as a string for the calls' audit events.
	x     *exchange
	trace traceID

	// The request's headers and what builds its X-Forwarded-*, set when
	// it is routed (see setCaller); via is built once, when a call
	// first needs it.
	header   http.Header
	req      *http.Request
	buildVia func(*http.Request) http.Header
	viaOnce  sync.Once
	via      http.Header
}

// traceID is a trace id and its hex form, made once per request.
type traceID struct {
	id  trace.TraceID
	hex string
}

// holdOf is the hold in ctx, if any.
func holdOf(ctx context.Context) *hold {
	h, _ := ctx.Value(runtimeKey{}).(*hold)
	return h
}

func (h *hold) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.released {
		h.released = true
		h.rt.release()
	}
}

// retain counts one more user of the hold's Runtime, until the returned
// func is called, while the request still holds it: a call that outlives
// its request (an MCP tool call whose client went away) then keeps the
// Runtime it runs on open through a reload's drain. It reports false once
// the request has given its hold back.
func (h *hold) retain() (func(), bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return nil, false
	}
	h.rt.active.Add(1)
	return h.rt.release, true
}

// Detach stops counting a long-lived request (an event stream, a
// WebSocket) as in flight on the Runtime it arrived on, so that a reload
// does not wait for it to end. Pipelines it runs afterwards run on the
// Runtime current at that time.
func Detach(ctx context.Context) {
	if h, ok := ctx.Value(runtimeKey{}).(*hold); ok {
		h.release()
	}
}

type runtimeKey struct{}

// runtimeFor is the Runtime a call runs on, held until done is called so
// that a reload's drain waits for the call: the Runtime its request arrived
// on while the request holds it (a reload in between does not matter), or,
// for a detached, finished or foreign context, the current one.
func (s *Server) runtimeFor(ctx context.Context) (rt *Runtime, done func()) {
	if h := holdOf(ctx); h != nil {
		if done, ok := h.retain(); ok {
			return h.rt, done
		}
	}
	cur := s.acquire()
	return cur.rt, cur.rt.release
}
