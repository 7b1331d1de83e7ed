package ratelimit

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

func perRate(count int, per time.Duration, burst int) *yamlconf.Rate {
	return &yamlconf.Rate{Count: count, Per: per, Burst: burst}
}

func compiled(name string, r *yamlconf.Rate) *pipeline.Compiled {
	return &pipeline.Compiled{Pipeline: &pipeline.Pipeline{Name: name, Access: &gateway.Access{Public: true, Rate: r}}}
}

// clock is a settable clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

func TestPerCaller(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := New(nil, Options{Now: c.Now})
	p := compiled("search", perRate(2, time.Minute, 2))
	alice := &pipeline.Identity{Name: "alice"}
	allow := func(id *pipeline.Identity, ip string) error {
		_, err := l.Allow(t.Context(), p, id, ip)
		return err
	}
	for i := range 2 {
		if err := allow(nil, "10.0.0.1"); err != nil {
			t.Fatalf("call %d within the burst refused: %v", i+1, err)
		}
	}
	err := allow(nil, "10.0.0.1")
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.P.Status != 429 || pe.P.Type != problem.TypePrefix+"rate-limited" || pe.P.RetryAfter != 30 {
		t.Fatalf("third call: %v (%+v), want a 429 with Retry-After 30", err, pe)
	}
	if err := allow(nil, "10.0.0.2"); err != nil {
		t.Errorf("another client IP shares the bucket: %v", err)
	}
	if err := allow(alice, "10.0.0.1"); err != nil {
		t.Errorf("an authenticated caller shares the IP's bucket: %v", err)
	}
	c.advance(30 * time.Second)
	if err := allow(nil, "10.0.0.1"); err != nil {
		t.Errorf("after 30s one token is back: %v", err)
	}
}

// TestLevels: a refusal at one level takes no token from the others, and
// the answer's fields list every level.
func TestLevels(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	buyer := &pipeline.Identity{Name: "buyer"}
	consumerRate := perRate(3, time.Minute, 3)
	l := New(perRate(100, time.Second, 100), Options{
		Now: c.Now,
		ConsumerRate: func(id *pipeline.Identity) *yamlconf.Rate {
			return map[bool]*yamlconf.Rate{true: consumerRate}[id == buyer]
		},
	})
	a, b := compiled("a", perRate(1, time.Minute, 1)), compiled("b", perRate(10, time.Minute, 10))
	h, err := l.Allow(t.Context(), a, buyer, "ip")
	if err != nil {
		t.Fatal(err)
	}
	wantPolicy := `"gateway";q=100;w=1, "consumer";q=3;w=60, "a";q=1;w=60`
	wantNow := `"gateway";r=99;t=1, "consumer";r=2;t=20, "a";r=0;t=60`
	if got := h.Get("RateLimit-Policy"); got != wantPolicy {
		t.Errorf("RateLimit-Policy %q, want %q", got, wantPolicy)
	}
	if got := h.Get("RateLimit"); got != wantNow {
		t.Errorf("RateLimit %q, want %q", got, wantNow)
	}
	if _, err := l.Allow(t.Context(), a, buyer, "ip"); err == nil {
		t.Fatal("second call of a 1/min pipeline allowed")
	}
	// The refused call took nothing from the consumer: 2 calls of b remain.
	for i := range 2 {
		if _, err := l.Allow(t.Context(), b, buyer, "ip"); err != nil {
			t.Fatalf("call %d of b: %v (the refused call used the consumer's quota)", i+1, err)
		}
	}
	h, err = l.Allow(t.Context(), b, buyer, "ip")
	if err == nil || !strings.Contains(err.Error(), "consumer") || !strings.Contains(h.Get("RateLimit"), `"consumer";r=0`) {
		t.Errorf("the consumer's fourth call: %v, %q; want refused by the consumer level", err, h.Get("RateLimit"))
	}
}

func TestNoLimits(t *testing.T) {
	l := New(nil, Options{})
	p := &pipeline.Compiled{Pipeline: &pipeline.Pipeline{Name: "open", Access: &gateway.Access{Public: true}}}
	if h, err := l.Allow(t.Context(), p, nil, "ip"); h != nil || err != nil {
		t.Errorf("got %v, %v; want no fields and no error", h, err)
	}
}

// TestBoundedMemory: a flood of distinct clients keeps at most MaxKeys
// buckets, and idle full buckets are swept.
func TestBoundedMemory(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := New(nil, Options{Now: c.Now, MaxKeys: 320})
	p := compiled("search", perRate(1, time.Second, 1))
	for i := range 10_000 {
		_, _ = l.Allow(t.Context(), p, nil, fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255))
	}
	if n := l.store.size(); n > 320 {
		t.Errorf("%d buckets after 10,000 clients, want at most 320", n)
	}
	// Past the cap new clients share an overflow bucket: still limited.
	if _, err := l.Allow(t.Context(), p, nil, "192.0.2.1"); err == nil {
		if _, err := l.Allow(t.Context(), p, nil, "192.0.2.2"); err == nil {
			t.Error("two new clients past the cap in the same instant were both allowed")
		}
	}
}

// TestIdleSwept: buckets idle long enough to be full again are dropped as
// new clients arrive.
func TestIdleSwept(t *testing.T) {
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := New(nil, Options{Now: c.Now})
	p := compiled("search", perRate(1, time.Second, 1))
	flood := func(prefix string, n int) {
		for i := range n {
			_, _ = l.Allow(t.Context(), p, nil, fmt.Sprintf("%s.%d.%d", prefix, i>>8, i&255))
		}
	}
	flood("10.1", 10_000)
	if n := l.store.size(); n != 10_000 {
		t.Fatalf("%d buckets for 10,000 clients", n)
	}
	c.advance(2 * time.Minute)
	flood("10.2", 1_000) // reaches every shard, each sweeps on insert
	if n := l.store.size(); n > 1_000 {
		t.Errorf("%d buckets after the first 10,000 clients went idle, want at most the 1,000 new ones", n)
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(perRate(1e9, time.Second, 1e9), Options{})
	p := compiled("search", perRate(1e9, time.Second, 1e9))
	id := &pipeline.Identity{Name: "alice"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Allow(b.Context(), p, id, "ip"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFollowsReload: server.rate comes from the plan being served.
func TestFollowsReload(t *testing.T) {
	l := New(nil, Options{})
	p := compiled("open", nil)
	p.Access.Rate = nil
	if h, _ := l.Allow(t.Context(), p, nil, "ip"); h != nil {
		t.Fatalf("limited before server.rate was set: %v", h)
	}
	gw := &gateway.Config{Server: gateway.Server{Rate: perRate(1, time.Hour, 1)}}
	rt := &server.Runtime{Plan: &pipeline.Plan{Gateway: gw}}
	if err := l.Mount(nil, nil, rt); err != nil {
		t.Fatal(err)
	}
	l.Commit(rt)
	if _, err := l.Allow(t.Context(), p, nil, "ip"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Allow(t.Context(), p, nil, "ip"); err == nil {
		t.Error("server.rate of the reloaded plan is not applied")
	}
}
