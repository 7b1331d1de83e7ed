package audit

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TestServerRestartLosesNothing stops the NATS server the publisher is
// connected to (as to an external cluster) in the middle of a stream of
// events and starts a new one on the same port and store: the stream ends
// with every event exactly once, in the order recorded.
func TestServerRestartLosesNothing(t *testing.T) {
	store := t.TempDir()
	ns := natsServer(t, -1, store)
	url, prt := ns.ClientURL(), port(ns)
	p := start(t, Config{NATS: url, DataDir: t.TempDir(), AckTimeout: time.Second}, nil)

	const batch = 300
	record := func(from int) {
		for i := from; i < from+batch; i++ {
			p.Record(context.Background(), call(i, "cityDeals"))
		}
	}
	record(0)
	stop(ns) // events of the first batch are still in flight
	record(batch)
	eventually(t, 10*time.Second, "events spooled while NATS is down", func() bool {
		return p.Stats().Spooled >= batch
	})
	ns = natsServer(t, prt, store)
	record(2 * batch)
	nc := connectTo(t, ns)
	eventually(t, 30*time.Second, fmt.Sprintf("%d events in the stream", 3*batch), func() bool {
		return count(nc) >= 3*batch
	})
	closeNow(t, p)

	msgs := readStream(t, nc)
	if len(msgs) != 3*batch {
		t.Fatalf("stream holds %d events, want exactly %d", len(msgs), 3*batch)
	}
	for i, m := range msgs {
		if want := fmt.Sprintf(`"request_id":"req-%04d"`, i); !strings.Contains(string(m.event.Data), want) {
			t.Fatalf("event %d of the stream is %s, want %s: order or count broken", i, m.event.Data, want)
		}
	}
	s := p.Stats()
	if s.Dropped != 0 || s.Spooled < batch {
		t.Errorf("stats = %+v, want at least %d spooled and none dropped", s, batch)
	}
	t.Logf("stats: %+v", s)
}

// TestSpoolBoundDropsAndCounts: with NATS down and a small spool, events
// beyond the bound are dropped, counted and logged with the count; the
// ones kept are delivered in order once NATS is back.
func TestSpoolBoundDropsAndCounts(t *testing.T) {
	store := t.TempDir()
	ns := natsServer(t, -1, store)
	url, prt := ns.ClientURL(), port(ns)
	stop(ns)

	var logs logBuffer
	p := start(t, Config{NATS: url, DataDir: t.TempDir(), SpoolMaxBytes: 16 << 10}, logger(&logs))
	const n = 100
	for i := range n {
		p.Record(context.Background(), call(i, "cityDeals"))
	}
	eventually(t, 10*time.Second, "every event spooled or dropped", func() bool {
		s := p.Stats()
		return s.Spooled+s.Dropped == n
	})
	s := p.Stats()
	if s.Dropped == 0 || s.Spooled == 0 || s.SpoolBytes > 16<<10 {
		t.Fatalf("stats = %+v; want some spooled within 16KiB and the rest dropped", s)
	}
	m := regexp.MustCompile(`audit: events dropped.*dropped_total=(\d+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no log line with the drop count:\n%s", logs.String())
	}
	if c, _ := strconv.Atoi(m[1]); c < 1 || uint64(c) > s.Dropped {
		t.Errorf("logged count %d, dropped %d", c, s.Dropped)
	}

	ns = natsServer(t, prt, store)
	nc := connectTo(t, ns)
	eventually(t, 30*time.Second, "spooled events delivered", func() bool { return count(nc) >= s.Spooled })
	closeNow(t, p)
	msgs := readStream(t, nc)
	if uint64(len(msgs)) != s.Spooled {
		t.Fatalf("stream holds %d events, want the %d spooled", len(msgs), s.Spooled)
	}
	for i, m := range msgs {
		if want := fmt.Sprintf(`"request_id":"req-%04d"`, i); !strings.Contains(string(m.event.Data), want) {
			t.Fatalf("event %d is %s, want %s", i, m.event.Data, want)
		}
	}
}

// TestCloseWhileDownKeepsEvents: closing while NATS is unreachable keeps
// the events on disk; the next start delivers them.
func TestCloseWhileDownKeepsEvents(t *testing.T) {
	store, data := t.TempDir(), t.TempDir()
	ns := natsServer(t, -1, store)
	url, prt := ns.ClientURL(), port(ns)
	stop(ns)

	p := start(t, Config{NATS: url, DataDir: data}, nil)
	const n = 50
	for i := range n {
		p.Record(context.Background(), call(i, "cityDeals"))
	}
	closeNow(t, p)
	if s := p.Stats(); s.SpoolPending != n || s.Dropped != 0 {
		t.Fatalf("after close: %+v, want %d events kept on disk", s, n)
	}
	if segs, _ := filepath.Glob(filepath.Join(data, "spool", "*.seg")); len(segs) == 0 {
		t.Fatalf("no spool segment in %s", data)
	}

	ns = natsServer(t, prt, store)
	p = start(t, Config{NATS: url, DataDir: data}, nil)
	nc := connectTo(t, ns)
	eventually(t, 20*time.Second, "events of the last run delivered", func() bool { return count(nc) >= n })
	closeNow(t, p)
	if got := len(readStream(t, nc)); got != n {
		t.Errorf("stream holds %d events, want %d", got, n)
	}
	if segs, _ := filepath.Glob(filepath.Join(data, "spool", "*.seg")); len(segs) != 0 {
		t.Errorf("spool not emptied: %v", segs)
	}
}

// TestCloseDeadline: Close returns by its deadline even when NATS never
// acknowledges, and keeps the unacknowledged events on disk.
func TestCloseDeadline(t *testing.T) {
	// A plain NATS server (no JetStream) where a subscriber swallows the
	// events: publishes reach it and are never acknowledged.
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	defer ns.Shutdown()
	sink := connectTo(t, ns)
	var got atomic.Int64 // events received (a message holds one or a batch)
	if _, err := sink.Subscribe("manifold.audit.>", func(m *nats.Msg) {
		evs, _ := Events(m.Data)
		got.Add(int64(len(evs)))
	}); err != nil {
		t.Fatal(err)
	}
	_ = sink.Flush()

	p := start(t, Config{NATS: ns.ClientURL(), DataDir: t.TempDir(), AckTimeout: time.Hour}, nil)
	const n = 10
	for i := range n {
		p.Record(context.Background(), call(i, "cityDeals"))
	}
	eventually(t, 10*time.Second, "events sent", func() bool { return got.Load() == n })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("Close took %s with a 300ms deadline", d)
	}
	if s := p.Stats(); s.Spooled != n || s.SpoolPending == 0 || s.Published != 0 {
		t.Errorf("after close: %+v, want the %d unacknowledged events kept on disk", s, n)
	}
}
