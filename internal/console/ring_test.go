package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestRingWindow: calls count in their minute, figures cover the last
// 15 minutes only, and a minute's slot is reused once it falls out.
func TestRingWindow(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 10, 0, 30, 0, time.UTC)}
	r := NewRing(clk.now)
	ctx := context.Background()
	for i := range 100 {
		status := 200
		if i%10 == 0 {
			status = 502
		}
		cache := "miss"
		if i%4 == 0 {
			cache = "hit"
		}
		r.Record(ctx, &event.Call{Pipeline: "p", Status: status, Start: clk.t, Duration: time.Duration(i+1) * time.Millisecond, Cache: cache,
			Steps: []pipeline.StepTrace{{Name: "s", Upstream: "u", Calls: 1, Duration: time.Millisecond, Err: errIf(i%5 == 0)}}})
	}
	st := r.PipelineStats([]string{"p", "absent"})
	p := st[0]
	if p.Calls != 100 || p.ErrorRate != 0.1 || p.HitRatio != 0.25 || p.Rate[Window-1] != 100 || len(p.Rate) != Window {
		t.Fatalf("stats %+v", p)
	}
	// p50 of 1..100 ms is 50 ms; the histogram reads at most 25% above.
	if p.P50 < 50*time.Millisecond || p.P50 > 63*time.Millisecond || p.P99 < 99*time.Millisecond || p.P99 > 125*time.Millisecond {
		t.Errorf("p50 %v, p99 %v: want 50ms and 99ms within 25%% above", p.P50, p.P99)
	}
	if st[1].Calls != 0 || len(st[1].Rate) != Window {
		t.Errorf("a pipeline without calls: %+v", st[1])
	}
	if u := r.UpstreamStats([]string{"u"})[0]; u.Calls != 100 || u.ErrorRate != 0.2 {
		t.Errorf("upstream stats %+v", u)
	}
	clk.t = clk.t.Add(14 * time.Minute)
	if p := r.PipelineStats([]string{"p"})[0]; p.Calls != 100 || p.Rate[0] != 100 {
		t.Errorf("14 minutes later the calls are still in the window: %+v", p)
	}
	clk.t = clk.t.Add(time.Minute)
	if p := r.PipelineStats([]string{"p"})[0]; p.Calls != 0 {
		t.Errorf("15 minutes later the calls are out of the window: %d", p.Calls)
	}
	r.Record(ctx, &event.Call{Pipeline: "p", Status: 200, Start: clk.t, Duration: time.Millisecond})
	if p := r.PipelineStats([]string{"p"})[0]; p.Calls != 1 {
		t.Errorf("a reused slot holds only its own minute: %d calls", p.Calls)
	}
}

func errIf(b bool) error {
	if b {
		return errors.New("upstream failed")
	}
	return nil
}

// TestRingRecentAndWatchers: the ring keeps the last MaxRecent calls,
// newest first, feeds watchers without blocking on a slow one, and
// bounds them.
func TestRingRecentAndWatchers(t *testing.T) {
	r := NewRing(nil)
	ctx := context.Background()
	slow, stopSlow, ok := r.Watch()
	if !ok {
		t.Fatal("no watcher")
	}
	defer stopSlow()
	for i := range MaxRecent + 10 {
		r.Record(ctx, &event.Call{Pipeline: "p", RequestID: "id" + itoa(i), Start: time.Now()})
	}
	recent := r.Recent(MaxRecent + 100)
	if len(recent) != MaxRecent || recent[0].RequestID != "id"+itoa(MaxRecent+9) || recent[MaxRecent-1].RequestID != "id10" {
		t.Fatalf("recent: %d calls, newest %s, oldest %s", len(recent), recent[0].RequestID, recent[len(recent)-1].RequestID)
	}
	if r.Call("id9") != nil || r.Call("id10") == nil {
		t.Error("Call finds calls out of the ring, or misses one in it")
	}
	if len(slow) != cap(slow) {
		t.Errorf("the slow watcher holds %d calls, want its buffer full (%d) and the rest dropped", len(slow), cap(slow))
	}
	var stops []func()
	for range MaxWatchers - 1 {
		_, stop, ok := r.Watch()
		if !ok {
			t.Fatal("refused a watcher under the bound")
		}
		stops = append(stops, stop)
	}
	if _, _, ok := r.Watch(); ok {
		t.Error("a watcher beyond MaxWatchers was accepted")
	}
	stops[0]()
	if _, stop, ok := r.Watch(); !ok {
		t.Error("a stopped watcher's place was not given back")
	} else {
		stop()
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestSessionsBoundedAndExpiring: sessions expire after SessionTTL and
// at most MaxSessions are kept.
func TestSessionsBoundedAndExpiring(t *testing.T) {
	clk := &clock{t: time.Now()}
	s := newSessions(clk.now)
	first := s.create()
	req := func(id string) *session {
		r, _ := newRequest(id)
		se, _ := s.get(r)
		return se
	}
	if req(first) == nil {
		t.Fatal("a new session is not found")
	}
	clk.t = clk.t.Add(time.Minute)
	for range MaxSessions {
		s.create()
	}
	if len(s.m) != MaxSessions || req(first) != nil {
		t.Errorf("%d sessions kept, the oldest still valid: want %d and the oldest ended", len(s.m), MaxSessions)
	}
	last := s.create()
	clk.t = clk.t.Add(SessionTTL)
	if req(last) != nil {
		t.Error("a session outlived SessionTTL")
	}
}

func newRequest(cookie string) (*http.Request, error) {
	r, err := http.NewRequest(http.MethodGet, "/console/", nil)
	if err == nil {
		r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	}
	return r, err
}
