package graphqlview

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/refusal"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Feed broadcasts finished calls to subscribers. Record never blocks: each
// subscriber has a bounded buffer, and a call that does not fit is dropped
// for that subscriber (and counted) rather than held. Deliveries also
// draw on a budget (graphql.runs_rate): every subscriber costs the
// gateway CPU for every call, so past the budget a call is dropped for
// all subscribers at once, at the cost of one check, and the calls of
// everyone else do not pay for the watchers.
type Feed struct {
	log      *slog.Logger
	buffer   int
	budget   *rate.Limiter // nil: unbounded
	refusals *refusal.Counts
	mu       sync.RWMutex
	subs     map[*subscriber]struct{}
	done     chan struct{}
	closed   bool
	dropped  atomic.Int64
}

// RefusedRuns names the runs_rate bound in refusal counts.
const RefusedRuns = "graphql.runs_rate"

type subscriber struct {
	ch      chan *event.Call
	dropped atomic.Bool // the first drop is logged
}

// NewFeed returns a feed whose subscribers may fall buffer calls behind.
func NewFeed(buffer int, log *slog.Logger) *Feed {
	return &Feed{log: log, buffer: buffer, subs: map[*subscriber]struct{}{}, done: make(chan struct{})}
}

// SetBudget bounds deliveries to r per second (burst included), summed
// over subscribers; nil lifts the bound. Refused calls are counted in
// refusals. It applies at once, to open subscriptions too.
func (f *Feed) SetBudget(r *yamlconf.Rate, refusals *refusal.Counts) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refusals = refusals
	if r == nil {
		f.budget = nil
		return
	}
	limit, burst := rate.Limit(float64(r.Count)/r.Per.Seconds()), max(r.Burst, r.Count)
	if f.budget == nil {
		f.budget = rate.NewLimiter(limit, burst)
		return
	}
	f.budget.SetLimit(limit)
	f.budget.SetBurst(burst)
}

// Record implements event.Recorder.
func (f *Feed) Record(_ context.Context, c *event.Call) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if n := len(f.subs); n == 0 {
		return
	} else if f.budget != nil && !f.budget.AllowN(time.Now(), min(n, f.budget.Burst())) {
		f.dropped.Add(int64(n))
		f.refusals.Add(RefusedRuns)
		return
	}
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

// Dropped is how many deliveries were dropped, for slow subscribers or
// past the budget.
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
