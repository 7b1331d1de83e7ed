package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// TestForeachRecoversFromOpenBreaker: a foreach calls one upstream
// several times at once. Once the upstream is back and the breaker's
// cooldown is over, the next requests are answered again: the breaker's
// probe is not cancelled by the calls refused beside it, which fail the
// run while the probe is out.
func TestForeachRecoversFromOpenBreaker(t *testing.T) {
	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) { testForeachRecovers(t, method) })
	}
}

func testForeachRecovers(t *testing.T, method string) {
	var healthy atomic.Bool
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		time.Sleep(20 * time.Millisecond)
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	fsys := fstest.MapFS{
		"gateway.yaml": {Data: []byte(fmt.Sprintf("upstreams:\n  b: {url: %q, retries: 0, breaker: {failures: 1, cooldown: 100ms}}\n", b.URL))},
		"each.yaml":    {Data: []byte("name: each\npath: /each\nsteps:\n  each: {upstream: b, method: " + method + ", foreach: \"[1,2,3]\", path: \"/${ .item }\"}\n")},
	}
	plan, err := pipeline.Load(fsys, "", pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := server.BuildWith(plan, server.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	p := plan.Pipeline("each")
	if _, err := rt.Engine.Run(context.Background(), p, pipeline.Input{}); err == nil {
		t.Fatal("the run succeeded while the upstream fails")
	}
	if got := rt.Upstream("b").BreakerState(); got != "open" {
		t.Fatalf("breaker %s, want open", got)
	}
	healthy.Store(true)
	deadline := time.Now().Add(3 * time.Second)
	for {
		_, err := rt.Engine.Run(context.Background(), p, pipeline.Input{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not answered 3s after the upstream came back (cooldown 100ms); breaker %s: %v", rt.Upstream("b").BreakerState(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
