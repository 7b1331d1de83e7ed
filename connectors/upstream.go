package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Upstream is one configured upstream with its whole resilience stack. It
// is what the engine calls; it is safe for concurrent use.
type Upstream struct {
	name      string
	stack     Connector
	transport interface{ Close() }
	log       *slog.Logger
}

var _ Connector = (*Upstream)(nil)

// New assembles the stack of the upstream cfg describes. This is the one
// place that shows the order in which a call is wrapped, outermost first.
func New(cfg Config, opts Options) (*Upstream, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("upstream without a name")
	}
	transport, err := newTransportFor(cfg)
	if err != nil {
		return nil, err
	}
	u := &Upstream{name: cfg.Name, transport: transport, log: logger(opts)}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}

	u.stack = withTimeout(timeout, // a call never outlives its timeout nor its caller's ctx
		transport) // one HTTP exchange
	return u, nil
}

// connectorCloser is a transport: a Connector with a pool to close.
type connectorCloser interface {
	Connector
	Close()
}

// newTransportFor picks the transport of cfg.Kind; "" means http.
func newTransportFor(cfg Config) (connectorCloser, error) {
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
// Response: on error it still says what the stack did (Attempts, Breaker,
// Cache) and, for a *StatusError, the upstream's Status and Header.
func (u *Upstream) Do(ctx context.Context, req *Request) (*Response, error) {
	resp, err := u.stack.Do(ctx, req)
	if resp == nil {
		resp = &Response{}
	}
	return resp, err
}

// Name is the upstream's name in gateway.yaml.
func (u *Upstream) Name() string { return u.name }

// Close releases the upstream's idle connections. Calls in flight finish.
func (u *Upstream) Close() { u.transport.Close() }

// connectorFunc adapts a function to Connector; each layer of the stack is one.
type connectorFunc func(ctx context.Context, req *Request) (*Response, error)

func (f connectorFunc) Do(ctx context.Context, req *Request) (*Response, error) { return f(ctx, req) }

// withTimeout bounds each call by d, and by the caller's ctx. The error of
// a call cut by d says so and wraps context.DeadlineExceeded.
func withTimeout(d time.Duration, next Connector) Connector {
	return connectorFunc(func(ctx context.Context, req *Request) (*Response, error) {
		tctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		resp, err := next.Do(tctx, req)
		if err != nil && ctx.Err() == nil && tctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("timed out after %s: %w", d, err)
		}
		return resp, err
	})
}
