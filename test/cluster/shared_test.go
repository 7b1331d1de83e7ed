package cluster

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/manifoldgw/manifold/internal/lbtest"
)

// What the replicas of a cluster share: rate limits, MCP sessions and a
// breaker (TestClusterShared here), and admin actions asked of one
// replica (TestClusterAdmin, admin_test.go). Each runs its own NATS
// cluster and 3 replicas, in parallel with the other tests of the
// package.

// flaky is a backend that fails on demand and counts the calls of each
// replica (each sends its id in X-Replica).
type flaky struct {
	fail  atomic.Bool
	mu    sync.Mutex
	calls map[string]int
	log   []string // replica and time of each call, for failure messages
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls[r.Header.Get("X-Replica")]++
	f.log = append(f.log, r.Header.Get("X-Replica")+"@"+time.Now().Format("05.000000"))
	f.mu.Unlock()
	if f.fail.Load() {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

func (f *flaky) count(replica string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[replica]
}

// sharedYAML is the gateway of TestClusterShared: hello on the backend
// (an MCP tool), limited with a 20/min rate for each caller, and flaky
// on an upstream whose breaker is shared.
func sharedYAML() map[string]string {
	return map[string]string{
		"gateway.yaml": `upstreams:
  backend:
    url: ${BACKEND_URL}
  flaky:
    url: ${FLAKY_URL}
    headers: {X-Replica: "${REPLICA_TAG}"}
    breaker: {shared: true, failures: 3, cooldown: 3s}
audit:
  replicas: 3
cluster:
  stale_after: 1s
`,
		"hello.yaml": helloYAML("1"),
		"limited.yaml": `name: limited
method: GET
path: /v1/limited
access: {public: true, rate: 20/min}
steps:
  greet: {upstream: backend, path: /greet}
output: .greet
`,
		"steady.yaml": `name: steady
method: GET
path: /v1/steady
access: {public: true, rate: 20/sec}
steps:
  greet: {upstream: backend, path: /greet}
output: .greet
`,
		"flaky.yaml": `name: flaky
method: GET
path: /v1/flaky
steps:
  call: {upstream: flaky, path: /call}
output: .call
`,
	}
}

// TestClusterShared: a rate limit, an MCP session and a shared breaker
// hold across 3 replicas behind round-robin load.
func TestClusterShared(t *testing.T) {
	t.Parallel()
	h := New(t, 3)
	fl := &flaky{calls: map[string]int{}}
	fb := httptest.NewServer(fl)
	t.Cleanup(fb.Close)
	h.Env["FLAKY_URL"] = fb.URL
	h.Push(h.Dir(sharedYAML()), map[string]string{"REPLICA_TAG": "push"})
	rs := []*Replica{}
	for _, id := range []string{"a", "b", "c"} {
		rs = append(rs, h.Start(id, map[string]string{"REPLICA_TAG": id}))
	}
	waitRateLimitPeers(t, rs)
	t.Run("RateLimit", func(t *testing.T) { checkRateLimit(t, rs) })
	t.Run("SustainedRate", func(t *testing.T) { checkSustainedRate(t, rs) })
	t.Run("MCP", func(t *testing.T) { checkMCP(t, rs) })
	t.Run("Breaker", func(t *testing.T) { checkSharedBreaker(t, rs, fl) })
}

// waitRateLimitPeers waits until every replica shares its rate limits
// with the 2 others (manifold_ratelimit_cluster_replicas is 3), as a
// cluster that has run for a second does.
func waitRateLimitPeers(t *testing.T, rs []*Replica) {
	t.Helper()
	Eventually(t, 10*time.Second, "every replica counts 3 replicas sharing the rate limits", func() bool {
		for _, r := range rs {
			_, body, err := r.Get("/metrics")
			if err != nil || !strings.Contains(body, "manifold_ratelimit_cluster_replicas 3") {
				return false
			}
		}
		return true
	})
}

// checkRateLimit: 90 requests sent round robin to the 3 replicas, 9 at a
// time, against a 20/min limit: at most 20 + 10% pass, and every answer
// states the cluster's quota, 20.
func checkRateLimit(t *testing.T, rs []*Replica) {
	var mu sync.Mutex
	passed, refused, perReplica := 0, 0, map[string]int{}
	var bad []string
	var wg sync.WaitGroup
	start := time.Now()
	for w := range 9 {
		wg.Go(func() {
			for i := w; i < 90; i += 9 {
				r := rs[i%len(rs)]
				resp, err := http.Get(r.Base + "/v1/limited")
				if err != nil {
					mu.Lock()
					bad = append(bad, err.Error())
					mu.Unlock()
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				policy := resp.Header.Get("RateLimit-Policy")
				mu.Lock()
				switch {
				case policy != `"limited";q=20;w=60`:
					bad = append(bad, resp.Status+" RateLimit-Policy: "+policy)
				case resp.StatusCode == http.StatusOK:
					passed++
					perReplica[r.ID]++
				case resp.StatusCode == http.StatusTooManyRequests:
					refused++
				default:
					bad = append(bad, resp.Status)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("rate 20/min, 90 requests round robin over 3 replicas in %s: %d passed (a %d, b %d, c %d), %d refused",
		time.Since(start).Round(time.Millisecond), passed, perReplica["a"], perReplica["b"], perReplica["c"], refused)
	if len(bad) > 0 {
		t.Errorf("%d unexpected answers, first: %s", len(bad), bad[0])
	}
	if passed > 22 || passed < 15 {
		t.Errorf("%d of 90 requests passed a 20/min limit, want 15 to 22 (the limit, +10%%)", passed)
	}
}

// checkSustainedRate: 2 s of round-robin load from 3 workers, far over
// a 20/sec limit, let through at most the burst (20) and 20 a second
// of load, + 10%: the replicas keep the limit while spending goes on.
func checkSustainedRate(t *testing.T, rs []*Replica) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	start := time.Now()
	load := Load(ctx, rs, "/v1/steady", 3)
	load.Wait()
	took := time.Since(start)
	refused := 0
	for _, b := range load.Bad {
		if strings.HasPrefix(b, "429 ") {
			refused++
		}
	}
	allowed := 20 + 20*took.Seconds()
	t.Logf("rate 20/sec, %s of round-robin load over 3 replicas: %d passed (the limit allows %.0f), %d refused, %d other",
		took.Round(time.Millisecond), load.OK, allowed, refused, len(load.Bad)-refused)
	if refused != len(load.Bad) {
		t.Errorf("answers other than 200 and 429: %v", load.Bad[:min(3, len(load.Bad))])
	}
	if float64(load.OK) > allowed*1.1 || float64(load.OK) < allowed*0.8 {
		t.Errorf("%d requests passed a 20/sec limit in %s, want at most %.0f (the limit, +10%%) and not far below it",
			load.OK, took.Round(time.Millisecond), allowed*1.1)
	}
}

// checkMCP: a session opened on replica a lists and calls the hello tool
// on b and c.
func checkMCP(t *testing.T, rs []*Replica) {
	rr := &lbtest.RoundRobin{}
	for _, r := range rs {
		rr.Bases = append(rr.Bases, r.Base)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "cluster-test", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{
		Endpoint: rs[0].Base + "/mcp", HTTPClient: &http.Client{Transport: rr, Timeout: 10 * time.Second}, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	for range 3 {
		list, err := cs.ListTools(t.Context(), nil)
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		if !hasTool(list.Tools, "hello") {
			t.Fatalf("tools/list: no hello tool in %d tools", len(list.Tools))
		}
		res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "hello"})
		if err != nil || res.IsError {
			t.Fatalf("tools/call hello: %v %+v", err, res)
		}
		if got, _ := json.Marshal(res.StructuredContent); !strings.Contains(string(got), `"hello"`) {
			t.Fatalf("tools/call hello answered %s", got)
		}
	}
	// The SDK opens with initialize, or with server/discover when the
	// server speaks the sessionless protocol.
	ok := rr.Answered()
	if !ok["initialize"][0] && !ok["server/discover"][0] {
		t.Errorf("the session was not opened on replica a: %v", ok)
	}
	for _, method := range []string{"tools/list", "tools/call"} {
		if !ok[method][1] || !ok[method][2] {
			t.Errorf("%s was not answered by both b and c: %v", method, ok[method])
		}
	}
}

func hasTool(tools []*mcp.Tool, name string) bool {
	for _, tl := range tools {
		if tl.Name == name {
			return true
		}
	}
	return false
}

// checkSharedBreaker: the flaky backend fails; replica a alone is called
// until its breaker trips (3 failures); b and c then answer "breaker
// open" without calling the backend, within about a second.
func checkSharedBreaker(t *testing.T, rs []*Replica, fl *flaky) {
	a, b, c := rs[0], rs[1], rs[2]
	for _, r := range rs {
		if status, body, err := r.Get("/v1/flaky"); err != nil || status != http.StatusOK {
			t.Fatalf("replica %s: GET /v1/flaky before the failure: %d %v %s", r.ID, status, err, body)
		}
	}
	fl.fail.Store(true)
	breakerOpen := func(r *Replica) bool {
		status, body, err := r.Get("/v1/flaky")
		return err == nil && status == http.StatusBadGateway && strings.Contains(body, "breaker open")
	}
	for i := 0; !breakerOpen(a); i++ {
		if i == 10 {
			t.Fatalf("replica a's breaker did not open after 10 failed calls (%d backend calls)", fl.count("a"))
		}
	}
	bCalls, cCalls := fl.count("b"), fl.count("c")
	took := Eventually(t, 2*time.Second, "b and c answer breaker open", func() bool {
		return breakerOpen(b) && breakerOpen(c)
	})
	// Both now answer from the shared state: 10 more calls each reach
	// nothing.
	settledB, settledC := fl.count("b"), fl.count("c")
	for range 10 {
		if !breakerOpen(b) || !breakerOpen(c) {
			t.Fatal("b or c called the backend again after the shared breaker opened")
		}
	}
	if fl.count("b") != settledB || fl.count("c") != settledC {
		t.Errorf("b and c called the open breaker's backend %d and %d more times", fl.count("b")-settledB, fl.count("c")-settledC)
	}
	t.Logf("shared breaker tripped by a after %d backend calls; b and c answered breaker open %s later, having called the backend %d and %d times meanwhile",
		fl.count("a"), took.Round(time.Millisecond), settledB-bCalls, settledC-cCalls)
	checkOneProbe(t, rs, fl)
}

// checkOneProbe: once the cooldown (3 s) ends, one probe goes out in the
// whole cluster, however many calls the 3 replicas get at once; the
// backend still fails, so the breaker opens again for everyone.
func checkOneProbe(t *testing.T, rs []*Replica, fl *flaky) {
	total := func() int { return fl.count("a") + fl.count("b") + fl.count("c") }
	before := total()
	deadline := time.Now().Add(10 * time.Second)
	for total() == before {
		if time.Now().After(deadline) {
			t.Fatal("no probe reached the backend within 10 s of the breaker opening (cooldown 3s)")
		}
		// 30 calls at once, 10 on each replica: they take far less
		// than the cooldown, so at most one of them may be a probe.
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Go(func() { _, _, _ = rs[i%3].Get("/v1/flaky") })
		}
		wg.Wait()
	}
	if probes := total() - before; probes != 1 {
		fl.mu.Lock()
		calls := fl.log[len(fl.log)-probes:]
		fl.mu.Unlock()
		t.Errorf("%d calls reached the backend when the cooldown ended (%v), want 1 probe for the whole cluster", probes, calls)
	}
}
