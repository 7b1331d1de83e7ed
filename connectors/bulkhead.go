package connectors

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrBulkheadFull is returned when a call waited for a free slot of its
// upstream's bulkhead (`concurrency:`) until its context ended.
var ErrBulkheadFull = errors.New("too many calls in flight")

// bulkhead caps the calls in flight to an upstream, so that one slow
// upstream cannot hold every goroutine and connection of the gateway.
type bulkhead struct {
	name     string
	slots    chan struct{} // nil: unlimited
	inFlight atomic.Int64
}

func newBulkhead(cfg Config) *bulkhead {
	b := &bulkhead{name: cfg.Name}
	if cfg.Concurrency > 0 {
		b.slots = make(chan struct{}, cfg.Concurrency)
	}
	return b
}

func (b *bulkhead) wrap(next Connector) Connector {
	return connectorFunc(func(ctx context.Context, req *Request) (*Response, error) {
		if b.slots != nil {
			select {
			case b.slots <- struct{}{}:
			case <-ctx.Done():
				return &Response{}, fmt.Errorf("%w to upstream %q (limit %d): %w",
					ErrBulkheadFull, b.name, cap(b.slots), context.Cause(ctx))
			}
		}
		b.inFlight.Add(1)
		resp, err := next.Do(ctx, req)
		if resp != nil && resp.Stream != nil {
			onClose(resp, b.release) // a streamed body holds its slot until closed
		} else {
			b.release() // no closure to allocate, for most calls
		}
		return resp, err
	})
}

// release frees the slot of a call that ended.
func (b *bulkhead) release() {
	b.inFlight.Add(-1)
	if b.slots != nil {
		<-b.slots
	}
}
