package ratelimit

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

const (
	shards     = 32
	sweepEvery = time.Minute
	// DefaultMaxKeys bounds the buckets kept (per-caller limiters).
	DefaultMaxKeys = 100_000
)

// bucket is one caller's limiter at one level.
type bucket struct {
	lim  *rate.Limiter
	last atomic.Int64 // unix nanoseconds of the last use
	idle time.Duration
	// key (policy NUL caller) and rate name the bucket to the other
	// replicas of a cluster; an overflow bucket has no key and is not
	// shared. share is its cluster bookkeeping (cluster.go).
	key   string
	split int // len(policy) in key
	rate  *yamlconf.Rate
	share share
}

// store keeps buckets by policy and caller. A bucket unused for as long as
// it takes to refill completely is indistinguishable from a new one, so
// sweeping it loses nothing. When a shard is still full after a sweep, new
// callers of a policy share one overflow bucket: memory stays bounded and
// limits are never lifted.
type store struct {
	seed     maphash.Seed
	perShard int
	shard    [shards]struct {
		sync.Mutex
		m         map[string]*bucket
		overflow  map[string]*bucket
		lastSweep time.Time
	}
}

func newStore(maxKeys int) *store {
	s := &store{seed: maphash.MakeSeed(), perShard: max(maxKeys/shards, 1)}
	for i := range s.shard {
		s.shard[i].m = map[string]*bucket{}
		s.shard[i].overflow = map[string]*bucket{}
	}
	return s
}

// get returns the bucket of caller under policy, creating it for r.
func (s *store) get(policy, caller string, r *yamlconf.Rate, now time.Time) *bucket {
	key := policy + "\x00" + caller
	sh := &s.shard[maphash.String(s.seed, key)%shards]
	sh.Lock()
	defer sh.Unlock()
	b, ok := sh.m[key]
	if !ok {
		if len(sh.m) >= s.perShard || now.Sub(sh.lastSweep) > sweepEvery {
			sweep(sh.m, now)
			sh.lastSweep = now
		}
		if len(sh.m) >= s.perShard {
			if b, ok = sh.overflow[policy]; !ok {
				b = newBucket(r, "", 0)
				sh.overflow[policy] = b
			}
			b.last.Store(now.UnixNano())
			return b
		}
		b = newBucket(r, key, len(policy))
		sh.m[key] = b
	}
	b.last.Store(now.UnixNano())
	return b
}

func newBucket(r *yamlconf.Rate, key string, split int) *bucket {
	every := r.Per / time.Duration(r.Count)
	full := every * time.Duration(r.Burst)
	return &bucket{lim: rate.NewLimiter(limitOf(r), r.Burst), idle: full + time.Second, key: key, split: split, rate: r}
}

// limitOf is r in events per second.
func limitOf(r *yamlconf.Rate) rate.Limit {
	return rate.Limit(float64(r.Count) / r.Per.Seconds())
}

// sweep deletes the buckets idle long enough to be full again.
func sweep(m map[string]*bucket, now time.Time) {
	for k, b := range m {
		if now.Sub(time.Unix(0, b.last.Load())) > b.idle {
			delete(m, k)
		}
	}
}

// size is the number of buckets kept, for tests.
func (s *store) size() int {
	n := 0
	for i := range s.shard {
		s.shard[i].Lock()
		n += len(s.shard[i].m)
		s.shard[i].Unlock()
	}
	return n
}
