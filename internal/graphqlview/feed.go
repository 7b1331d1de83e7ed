package graphqlview

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/manifoldgw/manifold/internal/event"
)

// Feed broadcasts finished calls to subscribers. Record never blocks: each
// subscriber has a bounded buffer, and a call that does not fit is dropped
// for that subscriber (and counted) rather than held.
type Feed struct {
	log     *slog.Logger
	buffer  int
	mu      sync.RWMutex
	subs    map[*subscriber]struct{}
	done    chan struct{}
	closed  bool
	dropped atomic.Int64
}

type subscriber struct {
	ch      chan *event.Call
	dropped atomic.Bool // the first drop is logged
}

// NewFeed returns a feed whose subscribers may fall buffer calls behind.
func NewFeed(buffer int, log *slog.Logger) *Feed {
	return &Feed{log: log, buffer: buffer, subs: map[*subscriber]struct{}{}, done: make(chan struct{})}
}

// Record implements event.Recorder.
func (f *Feed) Record(_ context.Context, c *event.Call) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for s := range f.subs {
		select {
		case s.ch <- c:
		default:
			f.dropped.Add(1)
			if !s.dropped.Swap(true) {
				f.log.Warn("graphql runs subscription: dropping calls for a slow subscriber", "buffer", f.buffer)
			}
		}
	}
}

// Subscribe returns a channel of the calls that finish from now on. It is
// closed when ctx ends or the feed closes.
func (f *Feed) Subscribe(ctx context.Context) <-chan *event.Call {
	s := &subscriber{ch: make(chan *event.Call, f.buffer)}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		close(s.ch)
		return s.ch
	}
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-f.done:
		}
		f.mu.Lock()
		delete(f.subs, s)
		close(s.ch)
		f.mu.Unlock()
	}()
	return s.ch
}

// Subscribers is how many subscriptions are open.
func (f *Feed) Subscribers() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.subs)
}

// Dropped is how many calls were dropped for slow subscribers.
func (f *Feed) Dropped() int64 { return f.dropped.Load() }

// Close ends every subscription; later ones end at once.
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.done)
	}
}
