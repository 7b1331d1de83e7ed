package ratelimit

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/manifoldgw/manifold/internal/logtest"
	"github.com/manifoldgw/manifold/internal/natstest"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// replicas are limiters of one cluster, each on its own connection to
// its own node, as three gateway replicas would be.
func replicas(t testing.TB, urls []string, global bool) ([]*Limiter, []*logtest.Buffer, []*nats.Conn) {
	t.Helper()
	var ls []*Limiter
	var logs []*logtest.Buffer
	var conns []*nats.Conn
	for i, url := range urls {
		nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		var g = perRate(20, time.Minute, 20)
		if !global {
			g = nil
		}
		l := New(g, Options{})
		buf := &logtest.Buffer{}
		err = l.JoinCluster(ClusterOptions{Conn: nc, Cluster: "test", Replica: fmt.Sprintf("r%d", i+1),
			Logger: slog.New(slog.NewTextHandler(buf, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(l.Close)
		ls, logs, conns = append(ls, l), append(logs, buf), append(conns, nc)
	}
	waitState(t, ls, len(urls), false)
	return ls, logs, conns
}

// waitState waits until every limiter shares its limits among n
// replicas, with NATS reachable or not.
func waitState(t testing.TB, ls []*Limiter, n int, fallback bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, l := range ls {
		for {
			got, fb := l.ClusterState()
			if got == n && fb == fallback {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster state %d replicas (fallback %v), want %d (fallback %v)", got, fb, n, fallback)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func nodeURLs(c *natstest.Cluster) []string {
	var urls []string
	for _, n := range c.Nodes {
		urls = append(urls, n.URL())
	}
	return urls
}

// roundRobin makes calls calls over the limiters in turn, one every gap,
// from one client, and counts those allowed.
func roundRobin(t *testing.T, ls []*Limiter, p *pipeline.Compiled, calls int, gap time.Duration) int {
	t.Helper()
	allowed := 0
	for i := range calls {
		h, err := ls[i%len(ls)].Allow(t.Context(), p, nil, "10.1.2.3")
		if err == nil {
			allowed++
		} else if cur := h.Get("RateLimit"); !strings.Contains(cur, ";r=0;") {
			t.Fatalf("a refused call's RateLimit is %q, want r=0", cur)
		}
		if pol := h.Get("RateLimit-Policy"); !strings.Contains(pol, ";q=20;w=60") {
			t.Fatalf("RateLimit-Policy %q does not tell the cluster's limit", pol)
		}
		if gap > 0 {
			time.Sleep(gap) // the load's pace, not a synchronization
		}
	}
	return allowed
}

func TestClusterRoundRobin(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	for _, tc := range []struct {
		name string
		gap  time.Duration
	}{{"burst", 0}, {"paced", 10 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			ls, _, _ := replicas(t, nodeURLs(c), false)
			p := compiled("search-"+tc.name, perRate(20, time.Minute, 20))
			got := roundRobin(t, ls, p, 90, tc.gap)
			t.Logf("allowed %d of 90", got)
			// At most the limit + 10%, and not far below it either.
			if got > 22 || got < 15 {
				t.Errorf("round robin over 3 replicas allowed %d of 90 calls, want 15 to 22 (rate 20/min)", got)
			}
		})
	}
}

func TestClusterGlobalRate(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	ls, _, _ := replicas(t, nodeURLs(c), true)
	allowed := 0
	for i := range 90 {
		p := compiled(fmt.Sprintf("p%d", i%4), nil)
		p.Access = nil
		if _, err := ls[i%3].Allow(t.Context(), p, &pipeline.Identity{Name: fmt.Sprint(i)}, "10.0.0.1"); err == nil {
			allowed++
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("allowed %d of 90", allowed)
	if allowed > 22 || allowed < 15 {
		t.Errorf("the gateway's rate over 3 replicas allowed %d of 90 calls, want 15 to 22 (rate 20/min)", allowed)
	}
}

func TestClusterFallback(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	ls, logs, _ := replicas(t, nodeURLs(c), false)
	for _, n := range c.Nodes {
		n.Stop()
	}
	waitState(t, ls, 3, true)
	p := compiled("search", perRate(20, time.Minute, 20))
	for i, l := range ls {
		allowed := 0
		for range 20 {
			if _, err := l.Allow(t.Context(), p, nil, "10.1.2.3"); err == nil {
				allowed++
			}
		}
		if allowed != 6 { // 20/3 tokens, each call costing 3
			t.Errorf("replica %d alone allowed %d calls, want 6 (its third of 20)", i+1, allowed)
		}
		if n := strings.Count(logs[i].String(), "NATS is unreachable"); n != 1 {
			t.Errorf("replica %d logged the fallback %d times, want once:\n%s", i+1, n, logs[i])
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, msg := range [][]byte{nil, {9}, {wireVersion}, {wireVersion, 0, 200}, {wireVersion, 0, 1, 'r', 1, 'p'}, {wireVersion, 0, 1, 'r', 1, 'p', 0, 1, 0, 1, 1}} {
		if _, err := decode(msg, "self", func(entry) { t.Errorf("entry read from %v", msg) }); err == nil {
			t.Errorf("decode(%v) accepted a malformed message", msg)
		}
	}
}

// TestClusterPeersLeave: a replica that shuts down leaves the count at
// once; one that falls silent leaves it after a second, unless it was
// the last one heard from: a partition looks the same as the death of
// every peer, and the survivor then keeps to its share.
func TestClusterPeersLeave(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	urls := nodeURLs(c)
	ls, logs, conns := replicas(t, append(urls, urls[0]), false)
	ls[3].Close()
	waitState(t, ls[:3], 3, false)
	conns[2].Close() // replica 3 dies without a word
	waitState(t, ls[:2], 2, false)
	conns[1].Close()
	waitState(t, ls[:1], 2, true)
	if !strings.Contains(logs[0].String(), "no other replica heard from") {
		t.Errorf("the fallback was not logged:\n%s", logs[0])
	}
}

// TestClusterConcurrentLoad: 3 replicas each called as fast as they
// answer let through what one bucket would, within 10%.
func TestClusterConcurrentLoad(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	ls, _, _ := replicas(t, nodeURLs(c), false)
	p := compiled("hot", perRate(300, time.Second, 300))
	var allowed atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for _, l := range ls {
		wg.Go(func() {
			for time.Since(start) < time.Second { // the load's length
				if _, err := l.Allow(t.Context(), p, nil, "10.1.2.3"); err == nil {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	one := 300 + 300*time.Since(start).Seconds() // what a single bucket allows
	t.Logf("allowed %d; one bucket %.0f", allowed.Load(), one)
	if got := float64(allowed.Load()); got > one*1.1 || got < one*0.8 {
		t.Errorf("3 replicas under load allowed %.0f calls, one bucket %.0f: want within -20%%..+10%%", got, one)
	}
}
