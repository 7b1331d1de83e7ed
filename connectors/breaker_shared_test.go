package connectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/manifoldgw/manifold/internal/natstest"
	"github.com/manifoldgw/manifold/internal/waittest"
)

// sharedUpstreams are the same shared-breaker upstream on 3 replicas,
// each with its own connection to its own node of a 3-node cluster.
func sharedUpstreams(t *testing.T, url string, br BreakerConfig) ([]*Upstream, *natstest.Cluster) {
	t.Helper()
	c := natstest.StartCluster(t, 3)
	var ups []*Upstream
	for _, n := range c.Nodes {
		nc, err := nats.Connect(n.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		s, err := NewSharedBreakers(t.Context(), nc, "test", SharedBreakersOptions{Replicas: 3})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		cfg := config(t, url)
		cfg.Breaker = br
		ups = append(ups, newUpstream(t, cfg, Options{SharedBreakers: s}))
	}
	return ups, c
}

func get(u *Upstream) (*Response, error) {
	return u.Do(context.Background(), &Request{Method: "GET", Path: "/"})
}

// within1s polls cond for about a second: how soon the other replicas
// must follow a shared breaker.
func within1s(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(1200 * time.Millisecond)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within a second: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSharedBreakerTripsEverywhere(t *testing.T) {
	var calls atomic.Int64
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	})
	ups, _ := sharedUpstreams(t, srv.URL, BreakerConfig{Failures: 3, Cooldown: time.Hour, Shared: true})
	for range 3 {
		if _, err := get(ups[0]); errors.Is(err, ErrBreakerOpen) {
			t.Fatal("the breaker opened before 3 failures")
		}
	}
	if s := ups[0].BreakerState(); s != "open" {
		t.Fatalf("replica 1's breaker is %s after 3 failures, want open", s)
	}
	for i, u := range ups[1:] {
		within1s(t, fmt.Sprintf("replica %d's breaker opens", i+2), func() bool { return u.BreakerState() == "open" })
		resp, err := get(u)
		if !errors.Is(err, ErrBreakerOpen) || resp.Breaker != "open" {
			t.Errorf("replica %d: %v (breaker %q), want ErrBreakerOpen", i+2, err, resp.Breaker)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("the dead upstream got %d calls, want 3: the others must not call it", n)
	}
}

func TestSharedBreakerOneProbe(t *testing.T) {
	var calls atomic.Int64
	var healthy atomic.Bool
	probe := make(chan struct{})
	var release sync.Once
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !healthy.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		<-probe // hold the probe while the other replicas try
	})
	t.Cleanup(func() { release.Do(func() { close(probe) }) })
	ups, _ := sharedUpstreams(t, srv.URL, BreakerConfig{Failures: 2, Cooldown: 300 * time.Millisecond, Shared: true})
	get(ups[0])
	get(ups[0])
	for _, u := range ups {
		within1s(t, "every breaker opens", func() bool { return u.BreakerState() == "open" })
	}
	healthy.Store(true)
	waittest.Until(t, "the cooldown ends", func() bool { return ups[2].BreakerState() == "half-open" })
	results := make(chan error, len(ups))
	for _, u := range ups {
		go func() {
			_, err := get(u)
			results <- err
		}()
	}
	for range len(ups) - 1 {
		if err := waittest.Receive(t, results, "a refusal while the probe is out"); !errors.Is(err, ErrBreakerOpen) {
			t.Fatalf("a second call went out in half-open: %v (upstream calls: %d)", err, calls.Load())
		}
	}
	waittest.Until(t, "the probe reaches the upstream", func() bool { return calls.Load() >= 3 })
	release.Do(func() { close(probe) })
	if err := waittest.Receive(t, results, "the probe"); err != nil {
		t.Fatalf("the probe failed: %v", err)
	}
	for i, u := range ups {
		within1s(t, fmt.Sprintf("replica %d's breaker closes", i+1), func() bool { return u.BreakerState() == "closed" })
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("the upstream got %d calls, want 2 failures and one probe", n)
	}
}

// TestSharedBreakerWithoutNATS: with NATS gone a shared breaker neither
// fails calls nor stops protecting: it goes on locally.
func TestSharedBreakerWithoutNATS(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	ups, c := sharedUpstreams(t, srv.URL, BreakerConfig{Failures: 2, Cooldown: time.Hour, Shared: true})
	for _, n := range c.Nodes {
		n.Stop()
	}
	for range 5 {
		if _, err := get(ups[1]); err != nil {
			t.Fatalf("a call failed with NATS gone: %v", err)
		}
	}
	healthy.Store(false)
	get(ups[1])
	get(ups[1])
	if _, err := get(ups[1]); !errors.Is(err, ErrBreakerOpen) {
		t.Errorf("with NATS gone the breaker did not open locally: %v", err)
	}
}

// TestSharedBreakerOutsideCluster: `shared: true` without cluster mode
// is a local breaker, and the log says so.
func TestSharedBreakerOutsideCluster(t *testing.T) {
	var logs bytes.Buffer
	cfg := config(t, refusedURL(t))
	cfg.Breaker = BreakerConfig{Failures: 1, Cooldown: time.Hour, Shared: true}
	u := newUpstream(t, cfg, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	get(u)
	if _, err := get(u); !errors.Is(err, ErrBreakerOpen) {
		t.Errorf("the local breaker did not open: %v", err)
	}
	if !strings.Contains(logs.String(), "not in cluster mode") || !strings.Contains(logs.String(), "upstream=test") {
		t.Errorf("no warning naming the upstream:\n%s", logs.String())
	}
}

// TestSharedBreakerForce: an operator's override works on a shared
// breaker as on a local one (the control plane sends it to every
// replica), and auto hands it back to the shared state.
func TestSharedBreakerForce(t *testing.T) {
	var calls atomic.Int64
	srv := server(t, func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	ups, _ := sharedUpstreams(t, srv.URL, BreakerConfig{Failures: 2, Cooldown: time.Hour, Shared: true})
	if err := ups[0].ForceBreaker(BreakerOpen); err != nil {
		t.Fatal(err)
	}
	if _, err := get(ups[0]); !errors.Is(err, ErrBreakerOpen) || ups[0].BreakerState() != "open" {
		t.Errorf("forced open: %v, state %s", err, ups[0].BreakerState())
	}
	if _, err := get(ups[1]); err != nil {
		t.Errorf("a replica not forced refused: %v", err)
	}
	if err := ups[0].ForceBreaker(BreakerAuto); err != nil {
		t.Fatal(err)
	}
	if _, err := get(ups[0]); err != nil || calls.Load() != 2 {
		t.Errorf("back to auto: %v, %d upstream calls, want 2", err, calls.Load())
	}
}

// TestSharedBreakerCountsAddUp: failures seen on different replicas add
// up, so a dead upstream takes `failures` calls in all, not per replica.
func TestSharedBreakerCountsAddUp(t *testing.T) {
	var calls atomic.Int64
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	ups, _ := sharedUpstreams(t, srv.URL, BreakerConfig{Failures: 4, Cooldown: time.Hour, Shared: true})
	get(ups[0])
	get(ups[0])
	within1s(t, "replica 2 knows replica 1's failures", func() bool { return ups[1].Counts().ConsecutiveFailures == 2 })
	get(ups[1])
	get(ups[1])
	for i, u := range ups {
		within1s(t, fmt.Sprintf("replica %d's breaker opens", i+1), func() bool { return u.BreakerState() == "open" })
	}
	if n := calls.Load(); n != 4 {
		t.Errorf("the dead upstream got %d calls, want 4", n)
	}
}
