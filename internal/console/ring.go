package console

import (
	"context"
	"sync"
	"time"

	"github.com/manifoldgw/manifold/internal/event"
)

// Bounds of the Ring.
const (
	// Window is how many one-minute slots a series keeps: the overview
	// shows the last 15 minutes.
	Window = 15
	// MaxSeries bounds the pipelines and upstreams followed (each in its
	// own map): names beyond it (after many reloads) are not charted.
	MaxSeries = 512
	// MaxRecent is how many finished calls are kept for Live and for
	// opening a call's waterfall.
	MaxRecent = 500
	// MaxWatchers bounds the Live streams fed at once.
	MaxWatchers = 32
)

// Ring is an event.Recorder that keeps the last Window minutes of calls
// per pipeline and per upstream, and the last MaxRecent calls, in memory
// bounded whatever the traffic. Safe for concurrent use.
type Ring struct {
	now func() time.Time

	mu       sync.Mutex
	pipes    map[string]*series
	ups      map[string]*series
	recent   []*event.Call // circular, oldest at next once full
	next     int
	watchers map[chan *event.Call]struct{}
}

var _ event.Recorder = (*Ring)(nil)

// NewRing returns an empty Ring; now is the clock (nil: time.Now).
func NewRing(now func() time.Time) *Ring {
	if now == nil {
		now = time.Now
	}
	return &Ring{now: now, pipes: map[string]*series{}, ups: map[string]*series{}, watchers: map[chan *event.Call]struct{}{}}
}

// slot is one minute of a series.
type slot struct {
	minute  int64 // Unix minute the slot holds; another one means empty
	count   int
	errors  int // 5xx answers (pipelines) or failed steps (upstreams)
	hits    int // cache hits (whole answers or step answers)
	lookups int // cache hits, misses and stale answers
	lat     hist
}

// series is one pipeline's or upstream's last Window minutes.
type series struct{ slots [Window]slot }

func (s *series) add(minute int64, d time.Duration, failed bool, cache string) {
	sl := &s.slots[minute%Window]
	if sl.minute != minute {
		*sl = slot{minute: minute}
	}
	sl.count++
	if failed {
		sl.errors++
	}
	switch cache {
	case "hit":
		sl.hits++
		sl.lookups++
	case "miss", "stale":
		sl.lookups++
	}
	sl.lat.add(d)
}

// Record implements event.Recorder: it counts the call and its steps and
// hands it to the Live watchers, never blocking on a slow one.
func (r *Ring) Record(_ context.Context, c *event.Call) {
	minute := c.Start.Unix() / 60
	if c.Start.IsZero() {
		minute = r.now().Unix() / 60
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.get(r.pipes, c.Pipeline); s != nil {
		s.add(minute, c.Duration, c.Status >= 500, c.Cache)
	}
	for _, st := range c.Steps {
		if st.Skipped || (st.Calls == 0 && st.Err == nil && st.Cache != "hit") {
			continue
		}
		if s := r.get(r.ups, st.Upstream); s != nil {
			s.add(minute, st.Duration, st.Err != nil, st.Cache)
		}
	}
	if len(r.recent) < MaxRecent {
		r.recent = append(r.recent, c)
	} else {
		r.recent[r.next] = c
		r.next = (r.next + 1) % MaxRecent
	}
	for w := range r.watchers {
		select {
		case w <- c:
		default: // a watcher that does not keep up misses calls
		}
	}
}

// get returns the series called name, creating it below MaxSeries.
func (r *Ring) get(m map[string]*series, name string) *series {
	if s := m[name]; s != nil {
		return s
	}
	if name == "" || len(m) >= MaxSeries {
		return nil
	}
	s := &series{}
	m[name] = s
	return s
}

// Watch returns a channel that receives each call recorded from now on,
// and the function that stops it; false when MaxWatchers are watching.
func (r *Ring) Watch() (<-chan *event.Call, func(), bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.watchers) >= MaxWatchers {
		return nil, nil, false
	}
	ch := make(chan *event.Call, 64)
	r.watchers[ch] = struct{}{}
	return ch, func() {
		r.mu.Lock()
		delete(r.watchers, ch)
		r.mu.Unlock()
	}, true
}

// Recent returns the last calls, newest first, at most n.
func (r *Ring) Recent(n int) []*event.Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*event.Call, 0, min(n, len(r.recent)))
	for i := range len(r.recent) {
		if len(out) == n {
			break
		}
		j := (r.next - 1 - i + 2*len(r.recent)) % len(r.recent)
		if len(r.recent) < MaxRecent {
			j = len(r.recent) - 1 - i
		}
		out = append(out, r.recent[j])
	}
	return out
}

// Call returns the recent call with request id id, or nil.
func (r *Ring) Call(id string) *event.Call {
	for _, c := range r.Recent(MaxRecent) {
		if c.RequestID == id {
			return c
		}
	}
	return nil
}
