package audit

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// cutProxy is a TCP proxy to a NATS server that a test can make lose the
// server's answers (acknowledgements) and then cut off entirely.
type cutProxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	conns    []net.Conn
	holding  chan struct{} // closed: server→client traffic flows
	down     bool
}

func newCutProxy(t *testing.T, upstream string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, upstream: upstream, holding: make(chan struct{})}
	close(p.holding)
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.accept()
	return p
}

func (p *cutProxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *cutProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		up, err := net.Dial("tcp", p.upstream)
		if down || err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c) }()
		go p.copyDown(c, up)
	}
}

// copyDown relays the server's bytes, waiting while answers are held.
func (p *cutProxy) copyDown(c, up net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		p.mu.Lock()
		hold := p.holding
		p.mu.Unlock()
		<-hold
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			c.Close()
			return
		}
	}
}

// hold stops relaying the server's answers: published messages are
// stored, their acknowledgements never arrive.
func (p *cutProxy) hold() {
	p.mu.Lock()
	p.holding = make(chan struct{})
	p.mu.Unlock()
}

// cut closes every connection and refuses new ones until resume; held
// answers are lost.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	select {
	case <-p.holding:
	default:
		close(p.holding)
	}
}

func (p *cutProxy) resume() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// TestLongOutageStoresOnce: events stored by JetStream whose
// acknowledgements were lost, then an outage longer than the stream's
// duplicate window (5 minutes against the default 2, scaled down here to
// 2.5s against 1s): the replay after the outage does not store them a
// second time; every event is in the stream exactly once.
func TestLongOutageStoresOnce(t *testing.T) {
	ns := natsServer(t, -1, t.TempDir())
	proxy := newCutProxy(t, ns.Addr().String())
	const window = time.Second
	p := start(t, Config{NATS: proxy.url(), DataDir: t.TempDir(), AckTimeout: 500 * time.Millisecond, Duplicates: window}, nil)
	nc := connectTo(t, ns)

	p.Record(context.Background(), call(0, "cityDeals"))
	eventually(t, 10*time.Second, "the first event acknowledged", func() bool { return p.Stats().Published == 1 })
	proxy.hold()
	const n = 20
	for i := 1; i <= n; i++ {
		p.Record(context.Background(), call(i, "cityDeals"))
	}
	eventually(t, 10*time.Second, "the events stored, unacknowledged", func() bool { return count(nc) == n+1 })
	proxy.cut()
	eventually(t, 10*time.Second, "the events spooled for a retry", func() bool { return p.Stats().Retried >= n })
	outage := time.Now()
	// The outage itself: longer than the duplicate window, after which
	// JetStream no longer knows the ids.
	time.Sleep(5 * window / 2)
	proxy.resume()
	eventually(t, 20*time.Second, "the spool delivered", func() bool {
		s := p.Stats()
		return s.Connected && s.SpoolPending == 0 && s.InFlight == 0 && s.Queued == 0
	})
	t.Logf("outage %s; stats %+v", time.Since(outage).Round(time.Millisecond), p.Stats())
	evs := readStream(t, nc)
	if len(evs) != n+1 {
		t.Fatalf("stream holds %d events for %d recorded: an event stored before the outage was stored again", len(evs), n+1)
	}
	for i := 0; i <= n; i++ {
		found := 0
		for _, e := range evs {
			if strings.Contains(string(e.event.Data), fmt.Sprintf(`"request_id":"req-%04d"`, i)) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("request %d has %d events, want 1", i, found)
		}
	}
}
