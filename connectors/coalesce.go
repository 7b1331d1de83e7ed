package connectors

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/manifoldgw/manifold/internal/workers"
)

// coalescer makes identical concurrent calls once (DESIGN: "Identical
// concurrent backend calls are made once"). Each caller gets its own
// Response with its own Header; Body is shared, read-only.
//
// A shared call belongs to no single caller: it runs on a context without
// the first caller's cancellation (but with its values, for traces) and
// with its own timeout, and each caller waits on its own ctx. When the last
// caller has given up, the call is cancelled with that caller's cause, so
// cancellation still reaches the upstream (DESIGN: "cancellation reaches
// every in-flight backend call") and a deadline still counts as a timeout.
//
// The bookkeeping is the coalescer's own rather than x/sync/singleflight's:
// singleflight's DoChan starts a goroutine per call, and a call's goroutine
// must come from workers, whose stacks stay grown. The flights map, under
// one mutex, already said which call each caller waits for; a call's
// outcome is published by closing its done channel.
type coalescer struct {
	keyer
	timeout time.Duration // of a shared call
	workers *workers.Pool

	mu      sync.Mutex
	flights map[string]*sharedCall // the calls in flight that callers may join
	waiting atomic.Int64           // callers attached to a call, for tests
}

// sharedCall is one shared call: what to call, its context, who still
// waits for it, and its outcome once done is closed.
type sharedCall struct {
	c    *coalescer
	key  string
	next Connector
	req  *Request

	ctx     context.Context
	cancel  context.CancelCauseFunc
	stop    context.CancelFunc // the timeout's
	waiters int                // guarded by coalescer.mu
	joined  int                // callers that ever joined; guarded by coalescer.mu, final once done is closed
	done    chan struct{}
	resp    *Response // set before done is closed
	err     error
}

func (c *coalescer) wrap(next Connector) Connector {
	return connectorFunc(func(ctx context.Context, req *Request) (*Response, error) {
		if !c.coalescable(req) {
			return next.Do(ctx, req)
		}
		key := c.key(req)
		call := c.join(ctx, key, next, req)
		defer c.waiting.Add(-1)
		select {
		case <-call.done:
			return call.outcome()
		case <-ctx.Done():
			cause := context.Cause(ctx)
			if !c.leave(key, call, cause) {
				return &Response{}, fmt.Errorf("upstream %q: %w", c.name, cause)
			}
			// The last caller has ended the call with its own cause: the
			// outcome comes at once and says what the upstream was doing
			// (a timeout, a full bulkhead), for the caller and the breaker.
			<-call.done
			return call.outcome()
		}
	})
}

// outcome is a caller's view of a finished call: its own Response when
// the call had other callers.
func (s *sharedCall) outcome() (*Response, error) {
	if s.joined > 1 {
		return copyResponse(s.resp), s.err
	}
	return s.resp, s.err
}

// join attaches the caller to the call for key, starting it if needed.
// Finding and registering happen under one lock, so a caller never joins
// a call that has already retired.
func (c *coalescer) join(ctx context.Context, key string, next Connector, req *Request) *sharedCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waiting.Add(1)
	call := c.flights[key]
	if call != nil {
		call.waiters++
		call.joined++
		return call
	}
	call = newSharedCall(ctx, c.timeout)
	if c.flights == nil {
		c.flights = make(map[string]*sharedCall)
	}
	c.flights[key] = call
	call.c, call.key, call.next, call.req = c, key, next, req
	c.workers.Go(call)
	return call
}

// Run makes the call, on a worker.
func (s *sharedCall) Run() {
	resp, err := s.next.Do(s.ctx, s.req)
	s.c.finish(s.key, s, resp, err)
}

// newSharedCall derives a call's context from its first caller's: the
// values (trace) but not the cancellation, and a timeout of its own.
func newSharedCall(ctx context.Context, timeout time.Duration) *sharedCall {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	ctx, stop := context.WithTimeout(ctx, timeout)
	return &sharedCall{
		ctx:     ctx,
		cancel:  cancel,
		stop:    stop,
		waiters: 1,
		joined:  1,
		done:    make(chan struct{}),
	}
}

// leave detaches a caller that gave up. The last one cancels the call with
// its cause, and later callers start a new call; leave reports whether the
// caller was the last.
func (c *coalescer) leave(key string, call *sharedCall, cause error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	call.waiters--
	if call.waiters > 0 {
		return false
	}
	c.forget(key, call, cause)
	return true
}

// finish publishes a call's outcome and retires it: later callers start a
// new one.
func (c *coalescer) finish(key string, call *sharedCall, resp *Response, err error) {
	call.resp, call.err = resp, err
	c.mu.Lock()
	c.forget(key, call, nil)
	c.mu.Unlock()
	close(call.done)
}

// forget ends call and unregisters it, unless a newer call has the key.
// c.mu must be held.
func (c *coalescer) forget(key string, call *sharedCall, cause error) {
	call.cancel(cause)
	call.stop()
	if c.flights[key] == call {
		delete(c.flights, key)
	}
}

// copyResponse gives a caller of a shared call its own Response and Header.
func copyResponse(r *Response) *Response {
	if r == nil {
		return nil
	}
	out := *r
	out.Header = r.Header.Clone()
	return &out
}
