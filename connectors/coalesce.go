package connectors

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// coalescer makes identical concurrent calls once (DESIGN: "Identical
// concurrent backend calls are made once"), with singleflight. Each caller
// gets its own Response with its own Header; Body is shared, read-only.
//
// A shared call belongs to no single caller: it runs on a context without
// the first caller's cancellation (but with its values, for traces) and
// with its own timeout, and each caller waits on its own ctx. When the last
// caller has given up, the call is cancelled with that caller's cause, so
// cancellation still reaches the upstream (DESIGN: "cancellation reaches
// every in-flight backend call") and a deadline still counts as a timeout.
type coalescer struct {
	keyer
	timeout time.Duration // of a shared call
	group   singleflight.Group

	mu      sync.Mutex
	flights map[string]*sharedCall // exactly the keys group runs a call for
	waiting atomic.Int64           // callers attached to a call, for tests
}

// sharedCall is the context of one shared call and who still waits for it.
type sharedCall struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	waiters int // guarded by coalescer.mu
}

// flight is the outcome of a shared call.
type flight struct {
	resp *Response
	err  error
}

func (c *coalescer) wrap(next Connector) Connector {
	return connectorFunc(func(ctx context.Context, req *Request) (*Response, error) {
		if !c.coalescable(req) {
			return next.Do(ctx, req)
		}
		key := c.key(req)
		call, ch := c.join(ctx, key, next, req)
		defer c.waiting.Add(-1)
		select {
		case r := <-ch:
			return outcome(r)
		case <-ctx.Done():
			cause := context.Cause(ctx)
			if !c.leave(key, call, cause) {
				return &Response{}, fmt.Errorf("upstream %q: %w", c.name, cause)
			}
			// The last caller has ended the call with its own cause: the
			// outcome comes at once and says what the upstream was doing
			// (a timeout, a full bulkhead), for the caller and the breaker.
			return outcome(<-ch)
		}
	})
}

// outcome is a caller's view of a call's result.
func outcome(r singleflight.Result) (*Response, error) {
	f := r.Val.(flight)
	if r.Shared {
		return copyResponse(f.resp), f.err
	}
	return f.resp, f.err
}

// join attaches the caller to the call for key, starting it if needed.
// Registering and DoChan happen under one lock, so a caller never joins a
// call other than the one its sharedCall describes.
func (c *coalescer) join(ctx context.Context, key string, next Connector, req *Request) (*sharedCall, <-chan singleflight.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	call := c.flights[key]
	if call == nil {
		call = newSharedCall(ctx, c.timeout)
		if c.flights == nil {
			c.flights = make(map[string]*sharedCall)
		}
		c.flights[key] = call
	}
	call.waiters++
	ch := c.group.DoChan(key, func() (any, error) {
		resp, err := next.Do(call.ctx, req)
		c.finish(key, call)
		return flight{resp, err}, nil
	})
	c.waiting.Add(1)
	return call, ch
}

// newSharedCall derives a call's context from its first caller's: the
// values (trace) but not the cancellation, and a timeout of its own.
func newSharedCall(ctx context.Context, timeout time.Duration) *sharedCall {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	ctx, stop := context.WithTimeout(ctx, timeout)
	return &sharedCall{ctx: ctx, cancel: func(cause error) { cancel(cause); stop() }}
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

// finish retires a call that has its outcome: later callers start a new one.
func (c *coalescer) finish(key string, call *sharedCall) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forget(key, call, nil)
}

// forget ends call and unregisters it, unless a newer call has the key.
// c.mu must be held.
func (c *coalescer) forget(key string, call *sharedCall, cause error) {
	call.cancel(cause)
	if c.flights[key] == call {
		delete(c.flights, key)
		c.group.Forget(key)
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
