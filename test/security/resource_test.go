//go:build !race

// The resource test runs tens of thousands of operations; under the race
// detector it would measure the detector. .ci/run runs it without -race.

package security

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// hostileOps is how many operations of each hostile kind the resource
// test makes.
const hostileOps = 10_000

// heapBound is the most heap the gateway (and this test's clients, in the
// same process) may hold after each hostile kind, after a GC.
const heapBound = 128 << 20

// TestResourceBudget attacks the running demo with 10,000 operations of
// each kind the security review found unbounded: subscriptions on
// WebSockets, MCP sessions, huge GraphQL queries, expensive `select`s
// and documents that are costly to validate. No more than one client's
// bound is accepted of each.
// After each kind the heap stays under heapBound, and with every hostile
// stream the gateway admitted still open, a normal request's median
// latency stays within 2× of its idle median.
func TestResourceBudget(t *testing.T) {
	base := startDemo(t)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	normal := func() time.Duration { return medianLatency(t, client, base+"/v1/products?q=milk", 200) }
	normal() // warm the response cache and the connection pool
	idle := min(normal(), normal())
	baseGoroutines := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kinds := []struct {
		name string
		run  func(t *testing.T) (accepted int)
		most int // accepted at most: the bound for one client address
	}{
		{"subscriptions", func(t *testing.T) int { return hostileSubscriptions(ctx, t, base) }, gateway.DefaultGraphQLMaxSubscriptionsPerClient},
		// Unconfirmed sessions close after mcp.init_timeout and give their
		// place back: the bound is per init_timeout (one window is 10 s,
		// the whole kind takes a few seconds).
		{"MCP sessions", func(t *testing.T) int { return hostileMCPSessions(t, client, base) }, 2 * gateway.DefaultMCPMaxClientSessions},
		{"big queries", func(t *testing.T) int { return hostilePosts(t, client, base+"/graphql", bigQuery) }, 0},
		{"big selects", func(t *testing.T) int { return hostilePosts(t, client, base+"/graphql", bigSelect) }, 0},
		{"validation bombs", func(t *testing.T) int { return hostilePosts(t, client, base+"/graphql", validationBomb) }, 0},
	}
	for _, k := range kinds {
		accepted := k.run(t)
		if accepted > k.most {
			t.Errorf("%s: %d of %d hostile operations accepted; want at most %d", k.name, accepted, hostileOps, k.most)
		}
		heap := heapInUse()
		t.Logf("%s: %d hostile operations, %d accepted; heap in use %d MiB, %d goroutines (%d at start)",
			k.name, hostileOps, accepted, heap>>20, runtime.NumGoroutine(), baseGoroutines)
		if heap > heapBound {
			t.Errorf("%s: heap in use %d MiB, over the bound of %d MiB", k.name, heap>>20, heapBound>>20)
		}
	}
	// The admitted streams and sessions are still open: a normal call must
	// not pay for them.
	busy := normal()
	t.Logf("normal request, median of 200: idle %v, beside the hostile state %v (%.2f×)", idle, busy, float64(busy)/float64(idle))
	// A loopback call takes tens of µs here, where one scheduler hiccup
	// on a shared 2-core machine is as much: allow 250µs besides 2×.
	if busy > max(2*idle, idle+250*time.Microsecond) {
		t.Errorf("a normal request took %v beside the hostile state, over 2× its idle %v", busy, idle)
	}
}

// medianLatency calls url n times, one at a time, and returns the median
// duration of the successful calls.
func medianLatency(t *testing.T, c *http.Client, url string, n int) time.Duration {
	t.Helper()
	var took []time.Duration
	for range n {
		start := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("normal request: %d", resp.StatusCode)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return took[len(took)/2]
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// parallel runs op(i) for i in [0, hostileOps) on 16 workers and returns
// how many returned true.
func parallel(op func(i int) bool) int {
	var next, ok atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < hostileOps; i = int(next.Add(1)) - 1 {
				if op(i) {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(ok.Load())
}

// hostileSubscriptions opens as many graphql-transport-ws connections as
// the gateway admits (up to 32) and sends 10,000 `subscribe` messages
// across them. It returns how many subscriptions were acknowledged as
// running (not refused with an error).
func hostileSubscriptions(ctx context.Context, t *testing.T, base string) int {
	t.Helper()
	var conns []*websocket.Conn
	for range 32 {
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql",
			&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("dial: %v", err)
			}
			break // the gateway holds as many streams as it may
		}
		if err := wsjson.Write(ctx, c, map[string]any{"type": "connection_init"}); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if len(conns) == 0 || len(conns) == 32 {
		t.Fatalf("%d WebSockets admitted from one client; want some, and a bound", len(conns))
	}
	var refused atomic.Int64
	var readers sync.WaitGroup
	for _, c := range conns {
		readers.Go(func() {
			for {
				var m struct{ Type string }
				if err := wsjson.Read(ctx, c, &m); err != nil {
					return
				}
				if m.Type == "error" {
					refused.Add(1)
				}
			}
		})
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.CloseNow()
		}
		readers.Wait()
	})
	for i := range hostileOps {
		c := conns[i%len(conns)]
		msg := map[string]any{"id": fmt.Sprint(i), "type": "subscribe", "payload": map[string]any{"query": "subscription { runs { pipeline } }"}}
		if err := wsjson.Write(ctx, c, msg); err != nil {
			break // closed by the gateway for flooding: also a bound
		}
	}
	// Every subscribe past the bounds is answered with an error: wait
	// until the answers stop coming, then count what runs.
	for last := int64(-1); refused.Load() != last; {
		last = refused.Load()
		time.Sleep(500 * time.Millisecond)
	}
	return hostileOps - int(refused.Load())
}

// hostileMCPSessions sends 10,000 MCP initialize requests that never
// confirm with notifications/initialized, every other one with a 4 KB
// clientInfo.name, and returns how many opened a session.
func hostileMCPSessions(t *testing.T, c *http.Client, base string) int {
	t.Helper()
	long := strings.Repeat("n", 4096)
	return parallel(func(i int) bool {
		name := "client"
		if i%2 == 1 {
			name = long
		}
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":%q,"version":"1"}}}`, i, name)
		req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
			return false
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && bytes.Contains(answer, []byte(`"result"`))
	})
}

// bigQuery is a GraphQL request of 64 KB, mostly spaces.
func bigQuery(i int) []byte {
	q := "{ __typename " + strings.Repeat(" ", 64<<10) + fmt.Sprintf("# %d\n}", i)
	b, _ := json.Marshal(map[string]any{"query": q})
	return b
}

// bigSelect is the review's attack: four aliased runs whose `select`
// builds a 2 GB string, and its variants.
func bigSelect(i int) []byte {
	sels := []string{`"x" * 2000000000 | length`, `[range(1e9)] | length`, `[limit(1e9; repeat(.))] | length`, `.. | tostring * 1000000`}
	sel := sels[i%len(sels)]
	var q bytes.Buffer
	q.WriteString("{")
	for a := range 4 {
		fmt.Fprintf(&q, ` r%d: run(pipeline: "productSearch", params: {q: "milk"}, select: %q) { data }`, a, sel)
	}
	q.WriteString("}")
	b, _ := json.Marshal(map[string]any{"query": q.String()})
	return b
}

// validationBomb is a document that is cheap to send and costly to
// validate: one field name many times in one selection set, directly or
// through fragments, or more fields than any operation may run.
func validationBomb(i int) []byte {
	var q string
	switch i % 3 {
	case 0:
		q = "{" + strings.Repeat(" __typename", 1990) + " }"
	case 1:
		var b strings.Builder
		b.WriteString("{")
		for f := range 30 {
			fmt.Fprintf(&b, " ...F%d", f)
		}
		b.WriteString(" }")
		for f := range 30 {
			fmt.Fprintf(&b, " fragment F%d on Query {%s }", f, strings.Repeat(" __typename", 15))
		}
		q = b.String()
	default:
		var b strings.Builder
		b.WriteString("{")
		for f := range 900 {
			fmt.Fprintf(&b, " a%d: __typename", f)
		}
		q = b.String() + " }"
	}
	b, _ := json.Marshal(map[string]any{"query": q + fmt.Sprintf(" # %d", i)})
	return b
}

// hostilePosts POSTs body(i) to url 10,000 times and returns how many got
// a 200 answer without GraphQL errors.
func hostilePosts(t *testing.T, c *http.Client, url string, body func(i int) []byte) int {
	t.Helper()
	return parallel(func(i int) bool {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body(i)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Error(err)
			return false
		}
		defer resp.Body.Close()
		var out struct{ Errors []any }
		_ = json.NewDecoder(resp.Body).Decode(&out)
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode == http.StatusOK && len(out.Errors) == 0
	})
}
