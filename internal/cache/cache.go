package cache

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// Entry is one cached answer. Entries are shared by every reader: treat an
// Entry, its Value and its Header as read-only once it has been Set.
type Entry struct {
	Value  []byte
	Header http.Header // snapshot of the answer's headers
	Status int         // the answer's status code, if the caller needs it

	StoredAt   time.Time
	FreshUntil time.Time // served as a hit until then
	StaleUntil time.Time // kept for stale-if-error until then
}

// Fresh reports whether the entry may still be served as a hit at now.
func (e *Entry) Fresh(now time.Time) bool { return now.Before(e.FreshUntil) }

// Age is how long ago the entry was stored.
func (e *Entry) Age(now time.Time) time.Duration { return now.Sub(e.StoredAt) }

// expires is when the entry stops being usable at all.
func (e *Entry) expires() time.Time {
	if e.StaleUntil.After(e.FreshUntil) {
		return e.StaleUntil
	}
	return e.FreshUntil
}

// entryOverhead approximates what an entry costs besides its value and
// header bytes: the Entry itself, ristretto's item and map slot, the key's
// hashes. It keeps many tiny entries from slipping past max_size.
const entryOverhead = 256

// cost is the entry's size in bytes, as counted against the cache's bound.
func (e *Entry) cost() int64 {
	n := len(e.Value) + entryOverhead
	for k, vs := range e.Header {
		n += len(k)
		for _, v := range vs {
			n += len(v) + 16 // the string header of each value
		}
	}
	return int64(n)
}

// Cache is a concurrency-safe, size-bounded cache of entries. The zero value
// is not usable; call New.
type Cache struct {
	store *ristretto.Cache[string, *Entry]
	gens  generations
	once  sync.Once
	now   func() time.Time // the clock of freshness and staleness
}

// New returns a cache that holds at most maxBytes of entries (as counted by
// their cost: value, headers and a fixed overhead).
func New(maxBytes int64) (*Cache, error) { return NewWithClock(maxBytes, nil) }

// NewWithClock is New with the clock that entries' deadlines are read
// against (tests); nil: time.Now.
func NewWithClock(maxBytes int64, now func() time.Time) (*Cache, error) {
	if now == nil {
		now = time.Now
	}
	if maxBytes <= 0 {
		return nil, errors.New("cache: max size must be positive")
	}
	store, err := ristretto.NewCache(&ristretto.Config[string, *Entry]{
		NumCounters: counters(maxBytes),
		MaxCost:     maxBytes,
		BufferItems: 64, // ristretto's recommended value
		// Our cost already includes an overhead; ristretto's own item cost
		// would make the bound depend on its internals.
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return &Cache{store: store, now: now}, nil
}

// counters sizes ristretto's admission counters: about ten per entry the
// cache can hold (ristretto's advice), assuming entries of about 1 KiB.
func counters(maxBytes int64) int64 {
	return min(max(maxBytes/1024*10, 10_000), 10_000_000)
}

// Get returns the entry stored under key. ok is false when there is none or
// it is past its stale deadline; fresh tells whether it is still fresh.
func (c *Cache) Get(key string) (e *Entry, fresh, ok bool) {
	e, ok = c.store.Get(key)
	if !ok {
		return nil, false, false
	}
	now := c.now()
	if !now.Before(e.expires()) {
		return nil, false, false
	}
	return e, e.Fresh(now), true
}

// Set stores e under key until its stale deadline (or its fresh deadline
// when that is later). It reports whether the write was accepted; an entry
// that is already expired is not stored. e must not be changed afterwards.
func (c *Cache) Set(key string, e *Entry) bool {
	ttl := e.expires().Sub(c.now())
	if ttl <= 0 {
		return false
	}
	return c.store.SetWithTTL(key, e, e.cost(), ttl)
}

// Now reads the cache's clock: entries are stored and aged by it.
func (c *Cache) Now() time.Time { return c.now() }

// Del removes the entry stored under key.
func (c *Cache) Del(key string) { c.store.Del(key) }

// Wait blocks until every Set made before it has been applied.
func (c *Cache) Wait() { c.store.Wait() }

// Purge makes every entry unreachable.
func (c *Cache) Purge() { c.gens.bumpAll() }

// PurgeNamespace makes every entry whose key was built for ns unreachable.
func (c *Cache) PurgeNamespace(ns string) { c.gens.bump(ns) }

// Close stops the cache's goroutines and drops its entries. Call it once
// nothing uses the cache any more; later calls are no-ops.
func (c *Cache) Close() {
	c.once.Do(c.store.Close)
}
