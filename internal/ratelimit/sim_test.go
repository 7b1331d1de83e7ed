package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// A simulated cluster: replicas whose exchanges tick at chosen phases on
// one virtual clock, and a NATS that delivers every message after a
// fixed delay. It runs the exchange's own code (tick, flush, receive,
// take) through every interleaving of ticks and deliveries that a busy
// machine can produce, which a run on real NATS meets only by chance.
type simCluster struct {
	now      time.Time
	delay    time.Duration
	interval time.Duration
	phases   []time.Duration
	skews    []time.Duration // each replica's clock, ahead of the true time
	noClock  bool            // the last replica's messages say nothing of its clock
	ls       []*Limiter
	xs       []*exchange
	queue    []simMsg
}

type simMsg struct {
	at   time.Time
	from int
	m    *nats.Msg
}

// simConn is one replica's connection to the simulated NATS.
type simConn struct {
	c    *simCluster
	self int
}

func (s simConn) PublishMsg(m *nats.Msg) error {
	if s.c.noClock && s.self == len(s.c.phases)-1 {
		m = &nats.Msg{Subject: m.Subject, Data: m.Data}
	}
	s.c.queue = append(s.c.queue, simMsg{at: s.c.now.Add(s.c.delay), from: s.self, m: m})
	return nil
}
func (simConn) IsConnected() bool { return true }
func (simConn) Flush() error      { return nil }

// newSimCluster starts replicas ticking every 100 ms at phases, and runs
// them for 1 s so that each knows the others.
func newSimCluster(t *testing.T, phases, skews []time.Duration, delay time.Duration) *simCluster {
	c := &simCluster{now: time.Unix(1_000_000, 0), delay: delay, interval: DefaultClusterInterval, phases: phases, skews: skews}
	for i := range phases {
		l := New(nil, Options{Now: func() time.Time { return c.now.Add(skews[i]) }})
		x := newExchange(l, simConn{c, i}, "sim", fmt.Sprintf("r%d", i+1), c.interval, slog.New(slog.DiscardHandler))
		l.cluster.Store(x)
		c.ls, c.xs = append(c.ls, l), append(c.xs, x)
	}
	c.advance(time.Second)
	for i, l := range c.ls {
		if n, fb := l.ClusterState(); n != len(phases) || fb {
			t.Fatalf("replica %d counts %d replicas (fallback %v) after 1 s", i+1, n, fb)
		}
	}
	return c
}

// advance moves the clock by d, 1 ms at a time, delivering the messages
// due and ticking the replicas whose phase comes.
func (c *simCluster) advance(d time.Duration) {
	for end := c.now.Add(d); c.now.Before(end); {
		c.now = c.now.Add(time.Millisecond)
		c.step()
	}
}

func (c *simCluster) step() {
	due := c.queue[:0:0]
	kept := c.queue[:0]
	for _, m := range c.queue {
		if m.at.After(c.now) {
			kept = append(kept, m)
		} else {
			due = append(due, m)
		}
	}
	c.queue = kept
	for _, m := range due {
		for i, x := range c.xs {
			if i != m.from {
				x.receive(m.m)
			}
		}
	}
	since := time.Duration(c.now.UnixNano()) % c.interval
	for i, x := range c.xs {
		if since == c.phases[i] {
			x.tick(c.now.Add(c.skews[i]))
		}
	}
}

// run makes calls calls spread evenly over d, each to the replica pick
// names, and counts those allowed.
func (c *simCluster) run(p *pipeline.Compiled, calls int, d time.Duration, pick func(i int) int) int {
	allowed := 0
	start := c.now
	for i := range calls {
		c.advance(start.Add(d * time.Duration(i) / time.Duration(calls)).Sub(c.now))
		if _, err := c.ls[pick(i)].Allow(context.Background(), p, nil, "10.1.2.3"); err == nil {
			allowed++
		}
	}
	return allowed
}

// simSweep runs scenario on 3 replicas for every phase offset of their
// exchanges (in 10 ms steps), delivery delays from 1 ms to 3 intervals,
// and clocks in step or 10 ms apart, and fails t unless it allows lo to
// hi calls in every case. what says what the scenario does.
func simSweep(t *testing.T, what string, lo, hi int, scenario func(c *simCluster) int) {
	t.Helper()
	least, most := 1<<30, 0
	var fewest, mostCase string
	for _, skew := range []time.Duration{0, 10 * time.Millisecond} {
		for _, delay := range []time.Duration{time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond,
			60 * time.Millisecond, 90 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond} {
			for b := time.Duration(0); b < DefaultClusterInterval; b += 10 * time.Millisecond {
				for cc := b; cc < DefaultClusterInterval; cc += 10 * time.Millisecond {
					c := newSimCluster(t, []time.Duration{0, b, cc}, []time.Duration{0, skew, -skew}, delay)
					got := scenario(c)
					name := fmt.Sprintf("phases 0, %s, %s; delay %s; clocks 0, +%s, -%s", b, cc, delay, skew, skew)
					if got < least {
						least, fewest = got, name
					}
					if got > most {
						most, mostCase = got, name
					}
				}
			}
		}
	}
	t.Logf("%s: %d to %d allowed (fewest with %s; most with %s)", what, least, most, fewest, mostCase)
	if least < lo || most > hi {
		t.Errorf("%s: %d to %d allowed, want %d to %d (fewest with %s; most with %s)", what, least, most, lo, hi, fewest, mostCase)
	}
}

// TestSimRoundRobinBurst: calls sent round robin to 3 replicas, as fast
// as or faster than the exchange, against 20/min: whatever the phases,
// the delivery delay and the clocks, the replicas together never let
// through more than the bucket holds, nor much less.
func TestSimRoundRobinBurst(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{30 * time.Millisecond, 135 * time.Millisecond, 400 * time.Millisecond} {
		t.Run(d.String(), func(t *testing.T) {
			simSweep(t, fmt.Sprintf("90 calls round robin in %s, 20/min", d), 15, 20, func(c *simCluster) int {
				p := compiled("burst", perRate(20, time.Minute, 20))
				return c.run(p, 90, d, func(i int) int { return i % 3 })
			})
		})
	}
}

// TestSimLoneReplica: one replica that gets every call, 30 a second
// against 20/min, keeps some tokens back for its peers, whose spending
// it cannot know yet, but gets most of the bucket within 3 s.
func TestSimLoneReplica(t *testing.T) {
	t.Parallel()
	simSweep(t, "90 calls in 3 s to one replica, 20/min", 16, 21, func(c *simCluster) int {
		p := compiled("lone", perRate(20, time.Minute, 20))
		return c.run(p, 90, 3*time.Second, func(int) int { return 0 })
	})
}

// TestSimSustained: 3 replicas under round-robin load far over 20/sec
// for 2 s let through about what one bucket does (its burst of 20 and
// 20 a second: 60), never more.
func TestSimSustained(t *testing.T) {
	t.Parallel()
	simSweep(t, "900 calls round robin in 2 s, 20/sec", 51, 60, func(c *simCluster) int {
		p := compiled("steady", perRate(20, time.Second, 20))
		return c.run(p, 900, 2*time.Second, func(i int) int { return i % 3 })
	})
}

// TestSimReplicaWithoutClock: a replica whose messages do not say when
// they were sent (a build from before Manifold-Sent, in a rolling
// upgrade) is still counted and heard, and a burst stays within the
// limit + 10%.
func TestSimReplicaWithoutClock(t *testing.T) {
	t.Parallel()
	simSweep(t, "90 calls round robin in 135 ms, 20/min, one replica without its clock", 15, 22, func(c *simCluster) int {
		c.noClock = true
		p := compiled("burst", perRate(20, time.Minute, 20))
		allowed := c.run(p, 90, 135*time.Millisecond, func(i int) int { return i % 3 })
		c.advance(time.Second)
		if n, fb := c.ls[0].ClusterState(); n != 3 || fb {
			t.Fatalf("after a second without its clock, replica 1 counts %d replicas (fallback %v), want 3", n, fb)
		}
		return allowed
	})
}
