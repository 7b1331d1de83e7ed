package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/cache"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// loadPlan writes files into a temporary directory and loads it.
func loadPlan(t *testing.T, files map[string]string) *pipeline.Plan {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return plan
}

func backend(t *testing.T, body string, gate chan struct{}) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gate != nil {
			<-gate
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBuildWithKeepsUnchangedUpstreams reloads a plan whose upstream b
// changed: a keeps its connector (breaker, pool) and cache entries, b is
// rebuilt and its entries purged, and so are the answers of the pipeline
// that calls b and of the pipeline that changed.
func TestBuildWithKeepsUnchangedUpstreams(t *testing.T) {
	a, b := backend(t, `{}`, nil), backend(t, `{}`, nil)
	gw := func(bTimeout string) string {
		return fmt.Sprintf("upstreams:\n  a: {url: %q}\n  b: {url: %q, timeout: %s}\n", a.URL, b.URL, bTimeout)
	}
	pa := "name: pa\npath: /a\ncache: 1m\nsteps:\n  s: {upstream: a, path: /}\n"
	pb := "name: pb\npath: /b\ncache: 1m\nsteps:\n  s: {upstream: b, path: /}\n"
	pc := "name: pc\npath: /c\ncache: 1m\nsteps:\n  s: {upstream: a, path: /}\n"
	old, err := Build(loadPlan(t, map[string]string{"gateway.yaml": gw("1s"), "pa.yaml": pa, "pb.yaml": pb, "pc.yaml": pc}), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := old.Cache()
	keys := map[string]string{}
	for _, ns := range []string{"a", "b", ResponseNamespace("pa"), ResponseNamespace("pb"), ResponseNamespace("pc")} {
		keys[ns] = c.Key(ns, []byte("k"))
		c.Set(keys[ns], &cache.Entry{Value: []byte("v"), StoredAt: time.Now(), FreshUntil: time.Now().Add(time.Hour)})
	}
	c.Wait()

	pc2 := pc + "summary: changed\n"
	next, err := BuildWith(loadPlan(t, map[string]string{"gateway.yaml": gw("2s"), "pa.yaml": pa, "pb.yaml": pb, "pc.yaml": pc2}),
		BuildOptions{Previous: old})
	if err != nil {
		t.Fatal(err)
	}
	if next.Upstream("a") != old.Upstream("a") {
		t.Error("unchanged upstream a was rebuilt")
	}
	if next.Upstream("b") == old.Upstream("b") {
		t.Error("changed upstream b was kept")
	}
	if next.Cache() != c {
		t.Fatal("the cache was not kept")
	}
	kept := map[string]bool{"a": true, "b": false, ResponseNamespace("pa"): true, ResponseNamespace("pb"): false, ResponseNamespace("pc"): false}
	for ns, want := range kept {
		_, _, ok := c.Get(c.Key(ns, []byte("k")))
		if ok != want {
			t.Errorf("cache entry in %s kept: %v, want %v", ns, ok, want)
		}
	}
	old.Release(next)
	if _, _, ok := c.Get(c.Key("a", []byte("k"))); !ok {
		t.Error("releasing the old Runtime closed the cache the new one uses")
	}
	next.Close()
}

// TestSwapLetsInFlightRequestsFinishOnTheirPlan starts a request, swaps
// in a plan with another output, and checks that the request answers
// with the plan it started with, that new requests get the new plan, and
// that the old Runtime drains once the request is done.
func TestSwapLetsInFlightRequestsFinishOnTheirPlan(t *testing.T) {
	gate := make(chan struct{})
	up := backend(t, `{"v":1}`, gate)
	gw := fmt.Sprintf("upstreams:\n  up: {url: %q}\n", up.URL)
	p := func(version int) string {
		return fmt.Sprintf("name: p\npath: /p\nsteps:\n  s: {upstream: up, path: /}\noutput: \"{version: %d}\"\n", version)
	}
	old, err := Build(loadPlan(t, map[string]string{"gateway.yaml": gw, "p.yaml": p(1)}), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := New(old, Options{})
	front := httptest.NewServer(s)
	defer front.Close()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(front.URL + "/p")
		if err != nil {
			got <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for old.Active() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request never started")
		}
		time.Sleep(time.Millisecond)
	}
	next, err := BuildWith(loadPlan(t, map[string]string{"gateway.yaml": gw, "p.yaml": p(2)}), BuildOptions{Previous: old})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Swap(next); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	if err := old.Drain(ctx); err == nil {
		t.Error("the old Runtime drained while a request was in flight on it")
	}
	cancel()
	close(gate)
	if body := <-got; body != `{"version":1}` {
		t.Errorf("in-flight request answered %s, want the old plan's {\"version\":1}", body)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := old.Drain(ctx); err != nil {
		t.Errorf("drain after the request finished: %v", err)
	}
	resp, err := http.Get(front.URL + "/p")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"version":2}` {
		t.Errorf("new request answered %s, want the new plan's", b)
	}
	old.Release(next)
	next.Close()
}
