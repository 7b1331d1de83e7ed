package ratelimit

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultClusterInterval is how often a replica publishes what it spent.
const DefaultClusterInterval = 100 * time.Millisecond

// peerTTL is how many intervals a replica stays live without a message.
const peerTTL = 10

// ClusterOptions make a Limiter's limits hold across the replicas of a
// cluster (Limiter.JoinCluster).
type ClusterOptions struct {
	// Conn is the gateway's NATS connection (core NATS only).
	Conn *nats.Conn
	// Cluster is the cluster's name: replicas exchange on
	// manifold.<Cluster>.ratelimit.
	Cluster string
	// Replica is this replica's id, unique in the cluster.
	Replica string
	// Interval is how often spending is published (DefaultClusterInterval).
	Interval time.Duration
	// Logger tells about fallbacks; nil: no logs.
	Logger *slog.Logger
}

// Subject is the core NATS subject on which the replicas of cluster
// exchange their rate-limit spending.
func Subject(cluster string) string { return "manifold." + cluster + ".ratelimit" }

// transport is what the exchange needs of its NATS connection.
type transport interface {
	PublishMsg(m *nats.Msg) error
	IsConnected() bool
	Flush() error
}

// exchange keeps a Limiter's buckets in step with the other replicas: it
// publishes what this replica spent per bucket every interval, charges
// what the others spent to its own buckets, and knows the live replicas
// from those messages. No request waits for it.
type exchange struct {
	l        *Limiter
	nc       transport
	subject  string
	replica  string
	interval time.Duration
	log      *slog.Logger
	sub      *nats.Subscription

	// terms packs what Allow needs in one word: epoch<<17 | replicas<<1
	// | fallback.
	terms atomic.Uint64

	dirtyMu sync.Mutex
	dirty   []*bucket

	peersMu sync.Mutex
	peers   map[string]peer
	known   int // replicas last counted while connected, self included
	// heard is, for each live peer, the epoch in which it sent its last
	// message heard, for take: what it spent since is unknown here.
	heard atomic.Pointer[[]uint64]
	// starts is when each of the last epochs started (unix ns), by
	// epoch % history.
	starts [history]int64

	stop chan struct{}
	done chan struct{}
}

// JoinCluster makes the limits cluster-wide, until Close. A call is still
// decided locally: the replicas exchange what they spent every Interval.
func (l *Limiter) JoinCluster(o ClusterOptions) error {
	if o.Conn == nil || o.Cluster == "" || o.Replica == "" {
		return errors.New("ratelimit: cluster mode needs a NATS connection, a cluster name and a replica id")
	}
	if o.Interval <= 0 {
		o.Interval = DefaultClusterInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	x := newExchange(l, o.Conn, Subject(o.Cluster), o.Replica, o.Interval, o.Logger)
	sub, err := o.Conn.Subscribe(x.subject, x.receive)
	if err != nil {
		return fmt.Errorf("ratelimit: subscribe to %s: %w", x.subject, err)
	}
	x.sub = sub
	if !l.cluster.CompareAndSwap(nil, x) {
		_ = sub.Unsubscribe()
		return errors.New("ratelimit: the limiter is already in a cluster")
	}
	go x.run()
	return nil
}

func newExchange(l *Limiter, nc transport, subject, replica string, interval time.Duration, log *slog.Logger) *exchange {
	x := &exchange{l: l, nc: nc, subject: subject, replica: replica, interval: interval, log: log,
		peers: map[string]peer{}, known: 1, stop: make(chan struct{}), done: make(chan struct{})}
	x.terms.Store(packTerms(1, 1, false)) // epoch 0 is a new share's "never"
	x.starts[1] = l.now().UnixNano()
	x.heard.Store(new([]uint64))
	return x
}

// Close leaves the cluster: the limits are local again.
func (l *Limiter) Close() {
	x := l.cluster.Swap(nil)
	if x == nil {
		return
	}
	close(x.stop)
	<-x.done
	_ = x.sub.Unsubscribe()
	if x.nc.IsConnected() {
		x.leave()
	}
}

// ClusterState is the number of replicas the limits are shared among
// (self included; 1 outside a cluster) and whether NATS is unreachable,
// so that each replica enforces its share of every limit on its own.
func (l *Limiter) ClusterState() (replicas int, fallback bool) {
	x := l.cluster.Load()
	if x == nil {
		return 1, false
	}
	_, n, fb := unpackTerms(x.terms.Load())
	return n, fb
}

func packTerms(epoch uint64, replicas int, fallback bool) uint64 {
	t := epoch<<17 | uint64(min(replicas, 0xffff))<<1
	if fallback {
		t |= 1
	}
	return t
}

func unpackTerms(t uint64) (epoch uint64, replicas int, fallback bool) {
	return t >> 17, int(t>>1) & 0xffff, t&1 == 1
}

func (x *exchange) run() {
	defer close(x.done)
	tick := time.NewTicker(x.interval)
	defer tick.Stop()
	for {
		select {
		case <-x.stop:
			return
		case <-tick.C:
			x.tick(x.l.now())
		}
	}
}

// tick starts an exchange epoch: it counts the replicas and publishes
// what this one spent in the last.
func (x *exchange) tick(now time.Time) {
	epoch, _, _ := unpackTerms(x.terms.Load())
	n, fallback := x.count(now)
	x.peersMu.Lock()
	x.starts[(epoch+1)%history] = now.UnixNano()
	x.peersMu.Unlock()
	x.terms.Store(packTerms(epoch+1, n, fallback))
	x.flush(fallback)
}

// count is the replicas sharing the limits: self and the peers heard
// from lately. While NATS is unreachable, or when every peer fell silent
// at once (a partition looks the same as their death from here), it is
// the last count and this replica falls back to its share alone. A peer
// that shuts down says goodbye, and leaves the count at once.
func (x *exchange) count(now time.Time) (int, bool) {
	x.peersMu.Lock()
	defer x.peersMu.Unlock()
	_, was, wasFallback := unpackTerms(x.terms.Load())
	for id, p := range x.peers {
		if now.Sub(p.seen) > peerTTL*x.interval {
			delete(x.peers, id)
		}
	}
	x.noteHeard()
	reason := ""
	switch {
	case !x.nc.IsConnected():
		reason = "NATS is unreachable"
	case len(x.peers) == 0 && x.known > 1:
		reason = "no other replica heard from"
	}
	if reason != "" {
		if !wasFallback {
			x.log.Warn("rate limits: "+reason+"; this replica enforces its share of every limit alone",
				"replicas", x.known, "share", fmt.Sprintf("1/%d", x.known))
		}
		return x.known, true
	}
	x.known = 1 + len(x.peers)
	if wasFallback {
		x.log.Info("rate limits: shared across the cluster again", "replicas", x.known)
	} else if was != x.known {
		x.log.Info("rate limits: replicas sharing the limits changed", "replicas", x.known, "was", was)
	}
	return x.known, false
}

// leave tells the other replicas that this one is gone.
func (x *exchange) leave() {
	msg := x.header()
	msg[1] |= flagLeaving
	x.publish(msg, x.l.now())
	_ = x.nc.Flush()
}

// spent records one call taken from b, for the next flush.
func (x *exchange) spent(b *bucket) {
	if b.key == "" {
		return
	}
	if b.share.pending.Add(1) == 1 {
		x.dirtyMu.Lock()
		x.dirty = append(x.dirty, b)
		x.dirtyMu.Unlock()
	}
}

// receive charges another replica's spending to this replica's buckets.
func (x *exchange) receive(m *nats.Msg) {
	now := x.l.now()
	replica, err := decode(m.Data, x.replica, func(e entry) {
		b := x.l.bucketFor(e.policy, e.caller, &e.rate, now)
		if b == nil {
			return
		}
		// More than a full bucket and a window of refill changes nothing.
		for n := min(e.n, int64(b.rate.Burst)+int64(b.rate.Count)); n > 0; {
			step := min(n, int64(b.rate.Burst))
			b.lim.ReserveN(now, int(step)) // not cancelled: the tokens are gone
			n -= step
		}
	})
	if err != nil {
		x.log.Warn("rate limits: ignored a malformed exchange message", "subject", m.Subject, "error", err)
		return
	}
	if replica == x.replica {
		return
	}
	x.peersMu.Lock()
	defer x.peersMu.Unlock()
	if len(m.Data) > 1 && m.Data[1]&flagLeaving != 0 {
		if _, ok := x.peers[replica]; ok {
			delete(x.peers, replica)
			x.known = max(1, x.known-1)
			x.noteHeard()
		}
		return
	}
	x.peers[replica] = peer{seen: now, epoch: x.epochAt(m.Header.Get(sentHeader), now)}
	x.noteHeard()
}

// epochAt is the epoch of this replica's in which another replica's
// clock read sent (a sentHeader), called with peersMu held. Missing or
// unreadable, sent is taken as an interval ago; ahead of this clock, as
// now. Older than the epochs remembered, it is the oldest of them.
func (x *exchange) epochAt(sentHeader string, now time.Time) uint64 {
	t := now.UnixNano()
	sent, err := strconv.ParseInt(sentHeader, 10, 64)
	if err != nil {
		sent = t - int64(x.interval)
	}
	sent = min(sent, t)
	epoch, _, _ := unpackTerms(x.terms.Load())
	e := epoch
	for ; e > 1 && epoch-e < history-1; e-- {
		if x.starts[e%history] <= sent {
			break
		}
	}
	return e
}

// peer is another replica as last heard from: when, and the epoch of
// this replica's in which it sent what was heard.
type peer struct {
	seen  time.Time
	epoch uint64
}

// noteHeard publishes the live peers' epochs (peer.epoch) for take.
// Called with peersMu held.
func (x *exchange) noteHeard() {
	heard := make([]uint64, 0, len(x.peers))
	for _, p := range x.peers {
		heard = append(heard, p.epoch)
	}
	x.heard.Store(&heard)
}

// history is how many epochs a share remembers what this replica took:
// more than a live peer can stay unheard (peerTTL).
const history = 16

// share is a bucket's allowance in the current exchange epoch: what this
// replica may take before it hears what the others took meanwhile.
type share struct {
	mu    sync.Mutex
	epoch uint64
	left  int
	taken uint32 // calls this replica took from the bucket (wrapping)
	// at is taken at the start of each of the last epochs, by epoch %
	// history.
	at      [history]uint32
	pending atomic.Int64 // calls taken since the last flush
}

// take takes one call of b's allowance in epoch, shared by n replicas.
// At the first call of an epoch the allowance is the tokens left, as
// this replica knows them, less what the others presumably took that it
// has not heard of yet, divided by n. What a peer took since its last
// message heard here is presumed to be what this replica took since the
// start of its epoch in which that message was sent: as much under even
// load, counted from before the message left, however long it was under
// way. So the replicas together spend no more than the bucket holds,
// however late the exchange, and a replica alone still gets all but a
// few tokens within a few epochs. heard holds that epoch for each peer.
func (b *bucket) take(now time.Time, epoch uint64, n int, heard []uint64) bool {
	s := &b.share
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch != epoch {
		oldest := uint64(1)
		if epoch > history {
			oldest = epoch - history + 1
		}
		for e := max(s.epoch+1, oldest); e <= epoch; e++ {
			s.at[e%history] = s.taken
		}
		s.epoch = epoch
		unheard := 0.0
		for _, h := range heard {
			h = min(max(h, oldest), epoch)
			unheard += float64(max(int32(s.taken-s.at[h%history]), 0))
		}
		s.left = int(math.Floor((b.lim.TokensAt(now) - unheard) / float64(n)))
	}
	if s.left < 1 {
		return false
	}
	s.left--
	s.taken++
	return true
}

// giveBack returns a call taken by take in epoch that another level
// refused.
func (b *bucket) giveBack(epoch uint64) {
	s := &b.share
	s.mu.Lock()
	if s.epoch == epoch {
		s.left++
	}
	s.taken--
	s.mu.Unlock()
}
