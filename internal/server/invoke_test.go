package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestResponseCacheNeverCrossesCallers: a cached pipeline whose output
// shows the caller (without naming .consumer) answers each caller with
// its own answer, never another's.
func TestResponseCacheNeverCrossesCallers(t *testing.T) {
	up := backend(t, `{"v":1}`, nil)
	rt, err := Build(loadPlan(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  up: {url: %q}\n", up.URL),
		"p.yaml":       "name: who\npath: /who\ncache: 1m\nsteps:\n  s: {upstream: up, path: /}\noutput: .\n",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	p := rt.Plan.Pipeline("who")
	call := func(id *pipeline.Identity) *Outcome {
		return rt.Invoke(context.Background(), &Call{Pipeline: p, Input: pipeline.Input{Params: map[string]any{}, Consumer: id}})
	}
	alice := &pipeline.Identity{Name: "alice", Roles: []string{"reader"}}
	bob := &pipeline.Identity{Name: "bob", Roles: []string{"reader"}}
	if o := call(alice); o.Err != nil || o.Cache != "miss" {
		t.Fatalf("alice: %v %s", o.Err, o.Cache)
	}
	o := call(bob)
	if o.Cache != "miss" {
		t.Fatalf("bob got alice's cached answer: %s", o.JSON)
	}
	if o := call(alice); o.Cache != "hit" {
		t.Errorf("alice's repeat: cache %q, want hit", o.Cache)
	}
	if o := call(&pipeline.Identity{Name: "alice", Roles: []string{"admin"}}); o.Cache != "miss" {
		t.Errorf("alice with other roles shares alice's entry")
	}
}

// TestCachedRunStopsWhenEveryCallerLeaves: a coalesced run of a cached
// pipeline is cancelled once its last waiter has gone, so it reaches the
// upstream's cancellation rather than running on unobserved.
func TestCachedRunStopsWhenEveryCallerLeaves(t *testing.T) {
	var cancelled atomic.Bool
	entered := make(chan struct{}, 2)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-r.Context().Done():
			cancelled.Store(true)
		case <-time.After(10 * time.Second):
		}
	}))
	defer up.Close()
	rt, err := Build(loadPlan(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  up: {url: %q, timeout: 20s}\n", up.URL),
		"p.yaml":       "name: slow\npath: /slow\ncache: 1m\ntimeout: 30s\nsteps:\n  s: {upstream: up, path: /}\n",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	p := rt.Plan.Pipeline("slow")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *Outcome, 2)
	for range 2 {
		go func() {
			done <- rt.Invoke(ctx, &Call{Pipeline: p, Input: pipeline.Input{Params: map[string]any{}}})
		}()
	}
	<-entered
	cancel()
	for range 2 {
		if o := <-done; o.Err == nil {
			t.Error("a caller that left got an answer")
		}
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := rt.Drain(ctx2); err != nil {
		t.Fatalf("the abandoned run still holds the Runtime: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); !cancelled.Load(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the upstream call of the abandoned run was not cancelled")
		}
	}
}
