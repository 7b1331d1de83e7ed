package connectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Upstream is one configured upstream behind its resilience stack: the
// Connector the engine calls. It is safe for concurrent use.
type Upstream struct {
	name      string
	stack     Connector
	transport transport
	breaker   *breaker
	bulkhead  *bulkhead
	coalescer *coalescer
}

var _ Connector = (*Upstream)(nil)

// New assembles the stack of the upstream cfg describes, with the shared
// dependencies in opts. It is the one place that shows the order in which a
// call is wrapped, outermost first.
func New(cfg Config, opts Options) (*Upstream, error) {
	if cfg.Name == "" {
		return nil, errors.New("upstream without a name")
	}
	if cfg.Retries < 0 || cfg.Concurrency < 0 || cfg.Timeout < 0 {
		return nil, fmt.Errorf("upstream %q: negative retries, concurrency or timeout", cfg.Name)
	}
	transport, err := newTransport(cfg)
	if err != nil {
		return nil, err
	}
	if opts.Transport != nil {
		transport.wrapRoundTripper(func(pool http.RoundTripper) http.RoundTripper { return opts.Transport(cfg.Name, pool) })
	}
	callTimeout := orDefault(cfg.Timeout, DefaultTimeout)
	keys := keyer{cache: opts.Cache, name: cfg.Name, kind: cfg.Kind}
	u := &Upstream{
		name:      cfg.Name,
		transport: transport,
		breaker:   newBreaker(cfg, opts),
		bulkhead:  newBulkhead(cfg),
		coalescer: &coalescer{keyer: keys, timeout: callTimeout, workers: newWorkers(cfg)},
	}
	tr := newTracing(cfg, opts, u.breaker.state)
	u.stack = chain(
		tr.call,                          // a span per call: cache, breaker, attempts; metrics
		stepCache{keys}.wrap,             // fresh hit; stale answer when the rest fails
		u.coalescer.wrap,                 // identical concurrent calls made once
		u.breaker.wrap,                   // fail fast while the upstream is down
		u.bulkhead.wrap,                  // at most cfg.Concurrency calls in flight
		timeout(callTimeout),             // per call, retries included
		retrier{cfg.Retries, sleep}.wrap, // idempotent calls, jittered backoff
		tr.attempt,                       // a client span per attempt, sent as traceparent
	)(transport) // one exchange with the upstream
	return u, nil
}

// A layer wraps the rest of the stack.
type layer func(next Connector) Connector

// chain composes layers into one, the first outermost.
func chain(layers ...layer) layer {
	return func(inner Connector) Connector {
		c := inner
		for i := len(layers) - 1; i >= 0; i-- {
			c = layers[i](c)
		}
		return c
	}
}

// transport is the innermost layer: a Connector with a pool to close.
type transport interface {
	Connector
	Close()
	// wrapRoundTripper replaces the round tripper by wrap(itself), before
	// any call (Options.Transport).
	wrapRoundTripper(wrap func(http.RoundTripper) http.RoundTripper)
}

// newTransport picks the transport of cfg.Kind; "" means http.
func newTransport(cfg Config) (transport, error) {
	switch cfg.Kind {
	case KindHTTP, "":
		return NewHTTP(cfg)
	case KindGraphQL:
		return NewGraphQL(cfg)
	}
	return nil, fmt.Errorf("upstream %q: unknown kind %q (want %s or %s)", cfg.Name, cfg.Kind, KindHTTP, KindGraphQL)
}

func logger(opts Options) *slog.Logger {
	if opts.Logger != nil {
		return opts.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Do makes one call through the stack. It always returns a non-nil
// Response: with an error it still says what the stack did (Attempts,
// Breaker, Cache) and, for a *StatusError, the upstream's Status and Header.
func (u *Upstream) Do(ctx context.Context, req *Request) (*Response, error) {
	resp, err := u.stack.Do(ctx, req)
	if resp == nil {
		resp = &Response{}
	}
	if resp.Breaker == "" { // answered from cache: the breaker was not asked
		resp.Breaker = u.breaker.state()
	}
	return resp, err
}

// Name is the upstream's name in gateway.yaml.
func (u *Upstream) Name() string { return u.name }

// BreakerState is the state of the upstream's breaker: "closed", "open" or
// "half-open".
func (u *Upstream) BreakerState() string { return u.breaker.state() }

// ForceBreaker overrides the upstream's breaker (an operator's decision):
// BreakerOpen fails every call at once, BreakerClosed lets every call
// through, BreakerAuto hands the state back to the failure counts.
func (u *Upstream) ForceBreaker(mode string) error { return u.breaker.force(mode) }

// BreakerOverride is the operator's override: BreakerAuto, BreakerOpen or
// BreakerClosed.
func (u *Upstream) BreakerOverride() string { return u.breaker.override() }

// Counts are the breaker's counts in its current window, for the operator.
func (u *Upstream) Counts() BreakerCounts { return u.breaker.counts() }

// InFlight is the number of calls past the bulkhead, waiting for the
// upstream.
func (u *Upstream) InFlight() int { return int(u.bulkhead.inFlight.Load()) }

// Close releases the upstream's idle connections and idle workers. Calls
// in flight finish.
func (u *Upstream) Close() {
	u.transport.Close()
	u.coalescer.workers.Close()
}

// connectorFunc adapts a function to Connector; most layers are one.
type connectorFunc func(ctx context.Context, req *Request) (*Response, error)

// Do calls f.
func (f connectorFunc) Do(ctx context.Context, req *Request) (*Response, error) { return f(ctx, req) }

// timeout bounds each call by d, and by the caller's ctx. The error of a
// call cut by d says so and wraps context.DeadlineExceeded.
//
// When ctx ends before d anyway, the layer steps aside: a context with a
// later deadline would be a mere child of ctx (context.WithDeadline says
// so), ending only with it, so its error never said "timed out after"
// either. That is always the case under the coalescer, whose shared call
// has a timeout of d since just before.
func timeout(d time.Duration) layer {
	return func(next Connector) Connector {
		return connectorFunc(func(ctx context.Context, req *Request) (*Response, error) {
			if deadline, ok := ctx.Deadline(); ok && deadline.Before(time.Now().Add(d)) {
				return next.Do(ctx, req)
			}
			tctx, cancel := context.WithTimeout(ctx, d)
			resp, err := next.Do(tctx, req)
			// A streamed body is read after Do: the timeout bounds it too,
			// and ends when it is closed.
			if !onClose(resp, cancel) {
				cancel()
			}
			if err != nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
				err = fmt.Errorf("timed out after %s: %w", d, err)
			}
			return resp, err
		})
	}
}
