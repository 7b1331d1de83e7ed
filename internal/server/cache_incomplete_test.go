package server

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestIncompleteAnswerIsNotCached: a cached pipeline whose optional step
// failed answers with Manifold-Incomplete, and the next identical call
// runs again (and says so again) instead of serving the partial answer
// from the cache for the cache's lifetime.
func TestIncompleteAnswerIsNotCached(t *testing.T) {
	var calls atomic.Int64
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"v":1}`)
	}))
	defer good.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusNotFound)
	}))
	defer bad.Close()
	rt, err := Build(loadPlan(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  good: {url: %q}\n  bad: {url: %q}\n", good.URL, bad.URL),
		"p.yaml": "name: both\npath: /both\ncache: 1m\nsteps:\n  a: {upstream: good, path: /}\n" +
			"  b: {upstream: bad, path: /, optional: true}\noutput: '{a: .a.v, b: .b}'\n",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	front := httptest.NewServer(New(rt, Options{}))
	defer front.Close()
	for i := range 2 {
		res, err := http.Get(front.URL + "/both")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(body) != `{"a":1,"b":null}` {
			t.Fatalf("call %d: %d %s", i+1, res.StatusCode, body)
		}
		if got := res.Header.Get("Manifold-Incomplete"); got != "b" {
			t.Errorf("call %d: Manifold-Incomplete %q, want b", i+1, got)
		}
		if got := res.Header.Get("Manifold-Cache"); got != "miss" {
			t.Errorf("call %d: Manifold-Cache %q, want miss (an incomplete answer is never stored)", i+1, got)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("the complete step ran %d times for 2 calls, want 2: the incomplete answer was cached", n)
	}
}
