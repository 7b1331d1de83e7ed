package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// lateSurface runs handle for each request with the request's context
// detached from its cancellation, as an MCP session does with a tool call
// whose client went away: the call may go on after the request ended.
type lateSurface struct {
	handle func(ctx context.Context)
}

func (s *lateSurface) Mount(mux *http.ServeMux, _ *Server, _ *Runtime) error {
	mux.HandleFunc("GET /late", func(w http.ResponseWriter, r *http.Request) {
		s.handle(context.WithoutCancel(r.Context()))
		w.WriteHeader(http.StatusAccepted)
	})
	return nil
}

// serveLate builds the first Runtime of files, serves it with a
// lateSurface and makes one request to it, which has ended on return.
func serveLate(t *testing.T, files map[string]string, handle func(*Server, context.Context)) (*Server, *Runtime) {
	t.Helper()
	old, err := Build(loadPlan(t, files), nil)
	if err != nil {
		t.Fatal(err)
	}
	surface := &lateSurface{}
	s := New(old, Options{Surfaces: []Surface{surface}})
	surface.handle = func(ctx context.Context) { handle(s, ctx) }
	front := httptest.NewServer(s)
	t.Cleanup(front.Close)
	resp, err := http.Get(front.URL + "/late")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return s, old
}

func call(rt *Runtime) *Call {
	return &Call{Pipeline: rt.Plan.Pipeline("p"), Input: pipeline.Input{Params: map[string]any{}}}
}

func reload(t *testing.T, s *Server, old *Runtime, files map[string]string) *Runtime {
	t.Helper()
	next, err := BuildWith(loadPlan(t, files), BuildOptions{Previous: old})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(next.Close)
	if err := s.Swap(next); err != nil {
		t.Fatal(err)
	}
	return next
}

// TestCallAfterItsRequestRunsOnCurrentConfig: a call made on behalf of a
// request that has already ended, after a reload, runs on the reloaded
// configuration, not on the Runtime the reload retired.
func TestCallAfterItsRequestRunsOnCurrentConfig(t *testing.T) {
	before, after := backend(t, `{"v":"before"}`, nil), backend(t, `{"v":"after"}`, nil)
	files := func(url string) map[string]string {
		return map[string]string{
			"gateway.yaml": fmt.Sprintf("upstreams:\n  up: {url: %q}\n", url),
			"p.yaml":       "name: p\npath: /p\nsteps:\n  s: {upstream: up, path: /}\noutput: .s\n",
		}
	}
	ctxs := make(chan context.Context, 1)
	s, old := serveLate(t, files(before.URL), func(_ *Server, ctx context.Context) { ctxs <- ctx })
	next := reload(t, s, old, files(after.URL))
	o := s.Invoke(<-ctxs, call(next))
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	if got := string(o.JSON); got != `{"v":"after"}` {
		t.Errorf("a call after its request ended and a reload answered %s, want the reloaded upstream's answer", got)
	}
}

// TestCallOutlivingItsRequestHoldsDrain: a call that started while its
// request was served and goes on after the request ended keeps a reload's
// drain of the old Runtime waiting until it is done.
func TestCallOutlivingItsRequestHoldsDrain(t *testing.T) {
	gate, entered := make(chan struct{}), make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-gate
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"v":1}`))
	}))
	defer up.Close()
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	defer release() // before up.Close, which waits for the held answer
	files := map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  up: {url: %q}\n", up.URL),
		"p.yaml":       "name: p\npath: /p\nsteps:\n  s: {upstream: up, path: /}\n",
	}
	outcomes := make(chan *Outcome, 1)
	// The request starts a call, sees it reach the upstream, and ends.
	s, old := serveLate(t, files, func(s *Server, ctx context.Context) {
		go func() { outcomes <- s.Invoke(ctx, call(s.Runtime())) }()
		<-entered
	})
	reload(t, s, old, files)

	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := old.Drain(short); err == nil {
		t.Fatal("the old Runtime drained while a call on it was still running")
	}
	release()
	if o := <-outcomes; o.Err != nil {
		t.Fatalf("the call failed: %v", o.Err)
	}
	wait, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if err := old.Drain(wait); err != nil {
		t.Errorf("the old Runtime did not drain once the call ended: %v", err)
	}
}
