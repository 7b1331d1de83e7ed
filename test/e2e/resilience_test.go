package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
)

// countingBackend answers body after waiting on gate (if any) and counts
// the calls that reach it. fail makes it answer 503.
type countingBackend struct {
	*httptest.Server
	calls atomic.Int64
	fail  atomic.Bool
	gate  chan struct{}
}

func newCounting(t *testing.T, body string) *countingBackend {
	t.Helper()
	b := &countingBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.calls.Add(1)
		if b.gate != nil {
			<-b.gate
		}
		if b.fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(b.Close)
	return b
}

func fetch(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestConcurrentIdenticalRequestsReachBackendsOnce sends 200 identical
// requests at once to a cached pipeline: each backend sees one call.
func TestConcurrentIdenticalRequestsReachBackendsOnce(t *testing.T) {
	a, b := newCounting(t, `{"v":"a"}`), newCounting(t, `{"v":"b"}`)
	a.gate = make(chan struct{}) // hold the first call until all requests are in
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  a: {url: %q}\n  b: {url: %q}\n", a.URL, b.URL),
		"p.yaml": `
name: cached
path: /cached
cache: 1m
steps:
  a: {upstream: a, path: /, select: .v}
  b: {upstream: b, needs: [a], path: "/${ .a }", select: .v}
`,
	})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	const n = 200
	var wg sync.WaitGroup
	var ok atomic.Int64
	var started sync.WaitGroup
	started.Add(n)
	for range n {
		wg.Go(func() {
			started.Done()
			resp, err := client.Get(base + "/cached")
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(body) == `{"a":"a","b":"b"}` {
				ok.Add(1)
			}
		})
	}
	started.Wait()
	// Release the backend once the first call has reached it: requests
	// before that are coalesced onto it, later ones are cache hits.
	deadline := time.Now().Add(5 * time.Second)
	for a.calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(a.gate)
	wg.Wait()
	if ok.Load() != n {
		t.Errorf("%d of %d requests got the answer", ok.Load(), n)
	}
	if a.calls.Load() != 1 || b.calls.Load() != 1 {
		t.Errorf("backend calls: a=%d b=%d, want 1 each", a.calls.Load(), b.calls.Load())
	}
	// Later requests are cache hits with an Age.
	_, h, _ := fetch(t, base+"/cached")
	if h.Get("Manifold-Cache") != "hit" || h.Get("Age") == "" {
		t.Errorf("repeat: Manifold-Cache %q Age %q, want hit with an Age", h.Get("Manifold-Cache"), h.Get("Age"))
	}
	if a.calls.Load() != 1 {
		t.Errorf("a cache hit reached the backend")
	}
}

// TestResponseCacheKeysOnParams checks that different params are cached
// apart and the first answer is a miss.
func TestResponseCacheKeysOnParams(t *testing.T) {
	up := newCounting(t, `{"v":1}`)
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  up: {url: %q}\n", up.URL),
		"p.yaml": `
name: byCity
path: /cities/{city}
cache: 1m
params: {city: {in: path, type: string}, lang: {type: string, default: en}}
steps:
  up: {upstream: up, path: "/${ .params.city }", query: {lang: "${ .params.lang }"}}
`,
	})
	for i, c := range []struct{ path, cache string }{
		{"/cities/Berlin", "miss"}, {"/cities/Berlin?lang=en", "hit"}, {"/cities/Berlin?lang=de", "miss"},
		{"/cities/Paris", "miss"}, {"/cities/Berlin?lang=de", "hit"},
	} {
		status, h, _ := fetch(t, base+c.path)
		if status != 200 || h.Get("Manifold-Cache") != c.cache {
			t.Errorf("#%d %s: status %d Manifold-Cache %q, want 200 %s", i, c.path, status, h.Get("Manifold-Cache"), c.cache)
		}
	}
	if got := up.calls.Load(); got != 3 {
		t.Errorf("backend calls = %d, want 3 (one per distinct params)", got)
	}
}

// TestBreakerOpensAndFailsFast trips a breaker on a failing backend; then
// calls fail at once with a problem naming the upstream, without reaching
// the backend, until the cooldown lets a probe through. The breaker
// (gobreaker) reads the wall clock: its cooldown is long enough for the
// open phase to fit on a loaded machine, and its end is polled for.
func TestBreakerOpensAndFailsFast(t *testing.T) {
	up := newCounting(t, `{"v":1}`)
	up.fail.Store(true)
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  flaky: {url: %q, breaker: {failures: 3, window: 10s, cooldown: 3s}}\n", up.URL),
		"p.yaml":       "name: flaky\npath: /flaky\nsteps:\n  s: {upstream: flaky, path: /}\n",
	})
	for i := range 3 {
		if status, _, body := fetch(t, base+"/flaky"); status != 502 {
			t.Fatalf("failure %d: status %d %s, want 502", i, status, body)
		}
	}
	before := up.calls.Load()
	for range 20 {
		status, _, body := fetch(t, base+"/flaky")
		if status != 502 || !strings.Contains(body, "breaker open") || !strings.Contains(body, `"upstream":"flaky"`) {
			t.Fatalf("open breaker: status %d %s", status, body)
		}
	}
	if up.calls.Load() != before {
		t.Errorf("an open breaker let %d calls through", up.calls.Load()-before)
	}
	up.fail.Store(false)
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, _, _ := fetch(t, base+"/flaky")
		if status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("breaker did not close after the cooldown with a healthy backend")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if probes := up.calls.Load() - before; probes != 1 {
		t.Errorf("closing the breaker took %d backend calls, want one probe", probes)
	}
}

// TestStaleServedWhileDown serves a step's last good answer while its
// upstream fails, marked stale, and stops once `stale:` has passed. The
// gateway's cache runs on the test's clock: no sleeping through windows.
func TestStaleServedWhileDown(t *testing.T) {
	up := newCounting(t, `{"v":"good"}`)
	clock := newFakeClock()
	base := serveDirWith(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  up: {url: %q, retries: 0}\n", up.URL),
		"p.yaml": `
name: st
path: /st
steps:
  s: {upstream: up, path: /, select: .v, cache: 10s, stale: 60s}
`,
	}, launch.Options{Now: clock.Now})
	if status, _, body := fetch(t, base+"/st"); status != 200 || body != `{"s":"good"}` {
		t.Fatalf("warm-up: %d %s", status, body)
	}
	up.fail.Store(true)
	clock.Advance(9 * time.Second)
	if status, h, body := fetch(t, base+"/st"); status != 200 || body != `{"s":"good"}` || h.Get("Manifold-Cache") == "stale" {
		t.Errorf("while fresh: %d %s Manifold-Cache %q", status, body, h.Get("Manifold-Cache"))
	}
	calls := up.calls.Load()
	clock.Advance(2 * time.Second) // past the 10s ttl, within stale
	status, h, body := fetch(t, base+"/st")
	if status != 200 || body != `{"s":"good"}` || h.Get("Manifold-Stale") != "s" || h.Get("Manifold-Cache") != "stale" {
		t.Errorf("while down: %d %s Manifold-Stale %q Manifold-Cache %q", status, body, h.Get("Manifold-Stale"), h.Get("Manifold-Cache"))
	}
	if up.calls.Load() == calls {
		t.Error("the stale answer was served without trying the upstream")
	}
	clock.Advance(60 * time.Second) // past ttl + stale
	if status, _, body = fetch(t, base+"/st"); status != 502 {
		t.Errorf("after stale: 60s: %d %s, want 502", status, body)
	}
}

// TestSlowOptionalStepIsCutAtItsTimeout: an optional step whose upstream
// is slower than its timeout yields an incomplete answer at that timeout,
// not at the backend's pace.
func TestSlowOptionalStepIsCutAtItsTimeout(t *testing.T) {
	fast := newCounting(t, `{"v":1}`)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer slow.Close()
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  fast: {url: %q}\n  slow: {url: %q, timeout: 100ms}\n", fast.URL, slow.URL),
		"p.yaml":       "name: p\npath: /p\ntimeout: 5s\nsteps:\n  f: {upstream: fast, path: /, select: .v}\n  s: {upstream: slow, path: /, optional: true}\n",
	})
	start := time.Now()
	status, h, body := fetch(t, base+"/p")
	if status != 200 || body != `{"f":1,"s":null}` || h.Get("Manifold-Incomplete") != "s" {
		t.Errorf("got %d %s incomplete=%q", status, body, h.Get("Manifold-Incomplete"))
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("answer took %s; the slow step's timeout is 100ms", el)
	}
}

// TestFailingStepDoesNotTripSiblingsBreaker: a step failing again and
// again cancels its healthy sibling each time; the sibling's breaker must
// not count those cancellations as its upstream's failures.
func TestFailingStepDoesNotTripSiblingsBreaker(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // answers slower than the broken sibling fails
		case <-time.After(200 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer healthy.Close()
	broken := newCounting(t, `{}`)
	broken.fail.Store(true)
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  healthy: {url: %q, breaker: {failures: 2}}\n  broken: {url: %q, breaker: {failures: 50}}\n", healthy.URL, broken.URL),
		"both.yaml":    "name: both\npath: /both\nsteps:\n  h: {upstream: healthy, path: /}\n  b: {upstream: broken, path: /}\n",
		"only.yaml":    "name: only\npath: /only\nsteps:\n  h: {upstream: healthy, path: /}\n",
	})
	for i := range 6 {
		if status, _, body := fetch(t, base+"/both"); status != 502 || !strings.Contains(body, `"step":"b"`) {
			t.Fatalf("run %d: %d %s, want 502 blaming step b", i, status, body)
		}
	}
	if status, _, body := fetch(t, base+"/only"); status != 200 {
		t.Errorf("the healthy upstream's breaker opened because its sibling failed: %d %s", status, body)
	}
}
