package ratelimit

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
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

// exchange keeps a Limiter's buckets in step with the other replicas: it
// publishes what this replica spent per bucket every interval, charges
// what the others spent to its own buckets, and knows the live replicas
// from those messages. No request waits for it.
type exchange struct {
	l        *Limiter
	nc       *nats.Conn
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
	peers   map[string]time.Time
	known   int             // replicas last counted while connected, self included
	heard   map[string]bool // peers heard from in the current round
	// round counts the times every live peer was heard from.
	round atomic.Uint64

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
	x := &exchange{l: l, nc: o.Conn, subject: Subject(o.Cluster), replica: o.Replica, interval: o.Interval,
		log: o.Logger, peers: map[string]time.Time{}, heard: map[string]bool{}, known: 1, stop: make(chan struct{}), done: make(chan struct{})}
	x.terms.Store(packTerms(0, 1, false))
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
		case now := <-tick.C:
			epoch, _, _ := unpackTerms(x.terms.Load())
			n, fallback := x.count(now)
			x.terms.Store(packTerms(epoch+1, n, fallback))
			x.flush(fallback)
		}
	}
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
	for id, seen := range x.peers {
		if now.Sub(seen) > peerTTL*x.interval {
			delete(x.peers, id)
		}
	}
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
	x.publish(msg)
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
		}
		return
	}
	x.peers[replica] = time.Now()
	x.heard[replica] = true
	for id := range x.peers {
		if !x.heard[id] {
			return
		}
	}
	clear(x.heard) // every live peer spoke: a round of the exchange is over
	x.round.Add(1)
}

// share is a bucket's allowance in the current exchange epoch: what this
// replica may take before it hears what the others took meanwhile.
type share struct {
	mu      sync.Mutex
	epoch   uint64
	left    int
	round   uint64       // the exchange round unheard counts from
	unheard int          // calls taken since every peer was last heard from
	pending atomic.Int64 // calls taken since the last flush
}

// take takes one call of b's allowance in epoch, shared by n replicas.
// At the first call of an epoch the allowance is the tokens left, as
// this replica knows them, less what the others presumably took that it
// has not heard of yet (as much as it took itself since it last heard
// from all of them), divided by n. Under even load the replicas together
// never spend more than the bucket holds, however fast the calls come
// and however late the exchange; a replica alone still gets every token
// but a few within a few epochs.
func (b *bucket) take(now time.Time, epoch uint64, n int, round uint64) bool {
	s := &b.share
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.round != round {
		s.round, s.unheard = round, 0
	}
	if s.epoch != epoch {
		s.epoch = epoch
		s.left = int(math.Floor((b.lim.TokensAt(now) - float64((n-1)*s.unheard)) / float64(n)))
	}
	if s.left < 1 {
		return false
	}
	s.left--
	s.unheard++
	return true
}

// giveBack returns a call taken by take that another level refused.
func (b *bucket) giveBack() {
	b.share.mu.Lock()
	b.share.left++
	b.share.unheard--
	b.share.mu.Unlock()
}
