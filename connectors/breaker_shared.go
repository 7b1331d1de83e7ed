package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/sony/gobreaker/v2"
)

// Bounds of the shared breaker store.
const (
	// sharedFlushEvery is how often counts that changed without a state
	// change are written: failures add up across replicas at this pace.
	sharedFlushEvery = 100 * time.Millisecond
	// sharedWriteTimeout bounds a write made on the request path (a
	// state change, a half-open probe's claim).
	sharedWriteTimeout = 500 * time.Millisecond
	sharedWatchTimeout = 5 * time.Second
)

// SharedBreakersOptions configure NewSharedBreakers.
type SharedBreakersOptions struct {
	// Replicas is the KV bucket's number of copies (1 if zero); 3 on a
	// 3-node JetStream cluster.
	Replicas int
	// Logger tells when the store is unreachable and back; nil: no logs.
	Logger *slog.Logger
}

// SharedBreakers keeps the state of `breaker: {shared: true}` upstreams
// in a NATS KV bucket named after the cluster, for gobreaker's
// DistributedCircuitBreaker. Every replica watches the bucket, so the
// request path reads the shared state from memory; it writes on a state
// change (at once, compare-and-set on the key's revision) and for a
// half-open probe's claim, and counts that changed otherwise every
// 100 ms. While NATS is away each breaker goes on with the state it last
// knew, locally.
type SharedBreakers struct {
	kv      jetstream.KeyValue
	nc      *nats.Conn
	log     *slog.Logger
	unwatch context.CancelFunc

	mu    sync.Mutex
	cache map[string]*sharedEntry

	down atomic.Bool // the last write failed for want of NATS
	stop chan struct{}
	done sync.WaitGroup
}

// sharedEntry is one breaker's shared state as this replica knows it.
type sharedEntry struct {
	data    []byte
	st      gobreaker.SharedState
	rev     uint64 // the KV revision data was read at or written as; 0: none
	dirty   bool   // data holds counts not written yet
	written []byte // what this replica last wrote, to know its own echo
}

// SharedBreakersBucket is the KV bucket holding cluster's breakers.
func SharedBreakersBucket(cluster string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, cluster) + "_breakers"
}

// NewSharedBreakers opens (creating it if need be) the breaker bucket of
// cluster and loads its current states. Close stops it.
func NewSharedBreakers(ctx context.Context, nc *nats.Conn, cluster string, opts SharedBreakersOptions) (*SharedBreakers, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("shared breakers: %w", err)
	}
	bucket := SharedBreakersBucket(cluster)
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, History: 1,
		Description: "Manifold shared circuit breakers", Replicas: max(opts.Replicas, 1)})
	if err != nil {
		return nil, fmt.Errorf("shared breakers: KV bucket %s: %w", bucket, err)
	}
	s := &SharedBreakers{kv: kv, nc: nc, log: opts.Logger, cache: map[string]*sharedEntry{}, stop: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.watch(ctx); err != nil {
		return nil, fmt.Errorf("shared breakers: watch %s: %w", bucket, err)
	}
	s.done.Add(1)
	go s.flushLoop()
	return s, nil
}

// Close stops watching and writing; the breakers keep their last state.
func (s *SharedBreakers) Close() {
	select {
	case <-s.stop:
		return
	default:
	}
	close(s.stop)
	// Stopping the watch talks to the server, and waits seconds for an
	// answer while NATS is away: ending its context returns at once.
	s.unwatch()
	s.done.Wait()
}

// watch loads the bucket and follows its changes.
func (s *SharedBreakers) watch(ctx context.Context) error {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w, err := s.kv.WatchAll(wctx)
	if err != nil {
		cancel()
		return err
	}
	s.unwatch = cancel
	ready := make(chan struct{})
	go func() { // ends when the watch does
		for e := range w.Updates() {
			if e == nil {
				close(ready)
				continue
			}
			s.apply(e)
		}
	}()
	select {
	case <-ready:
		return nil
	case <-time.After(sharedWatchTimeout):
		cancel()
		return errors.New("no initial values in time")
	}
}

// apply takes a change of the bucket into the cache, unless this
// replica already knows a newer state (or the change is its own echo).
func (s *SharedBreakers) apply(e jetstream.KeyValueEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cache[e.Key()]
	if e.Operation() != jetstream.KeyValuePut {
		if c != nil {
			c.rev = 0
		}
		return
	}
	var st gobreaker.SharedState
	if json.Unmarshal(e.Value(), &st) != nil {
		return
	}
	if c == nil {
		s.cache[e.Key()] = &sharedEntry{data: e.Value(), st: st, rev: e.Revision()}
		return
	}
	if e.Revision() <= c.rev {
		return
	}
	c.rev = e.Revision()
	if bytes.Equal(e.Value(), c.written) || !newerState(st, c.st) {
		return
	}
	c.data, c.st, c.dirty = e.Value(), st, false
}

// newerState reports whether remote should replace local: a later
// generation, or the same one unless that would close an open breaker.
func newerState(remote, local gobreaker.SharedState) bool {
	if remote.Generation != local.Generation {
		return remote.Generation > local.Generation
	}
	return local.State != gobreaker.StateOpen || remote.State == gobreaker.StateOpen
}

func (s *SharedBreakers) entry(key string) (sharedEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[key]
	if !ok {
		return sharedEntry{}, false
	}
	return *c, true
}

// flushLoop writes the counts that changed without a state change.
func (s *SharedBreakers) flushLoop() {
	defer s.done.Done()
	t := time.NewTicker(sharedFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			var keys []string
			for k, c := range s.cache {
				if c.dirty {
					keys = append(keys, k)
				}
			}
			s.mu.Unlock()
			for _, k := range keys {
				s.write(k, false)
			}
		}
	}
}
