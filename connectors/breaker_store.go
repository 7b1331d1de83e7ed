package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/sony/gobreaker/v2"
)

// set is SetData: the breaker's state after a call. A state change is
// written at once; counts alone wait for the next flush. A state older
// than the one known (another replica moved on during the call) is
// dropped, as gobreaker drops a result of an older generation.
func (s *SharedBreakers) set(key string, data []byte) {
	var st gobreaker.SharedState
	if json.Unmarshal(data, &st) != nil {
		return
	}
	s.mu.Lock()
	c, ok := s.cache[key]
	if !ok {
		c = &sharedEntry{}
		s.cache[key] = c
	} else if bytes.Equal(c.data, data) || st.Generation < c.st.Generation {
		s.mu.Unlock()
		return
	}
	change := !ok || st.State != c.st.State || st.Generation != c.st.Generation
	c.data, c.st, c.dirty = bytes.Clone(data), st, true
	s.mu.Unlock()
	if change {
		s.write(key, true)
	}
}

// write stores key's dirty state, compare-and-set on the revision known.
// On a conflict the newer state wins: another replica's, or this one's
// state change over counts written meanwhile.
func (s *SharedBreakers) write(key string, change bool) {
	if !s.nc.IsConnected() {
		s.setDown(true, nil)
		return
	}
	for range 3 {
		c, ok := s.entry(key)
		if !ok || !c.dirty {
			return
		}
		rev, err := s.put(key, c.data, c.rev)
		if err == nil {
			s.wrote(key, c.data, rev)
			s.setDown(false, nil)
			return
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
			s.setDown(true, err)
			return
		}
		if !s.reload(key, change) {
			return
		}
	}
}

// put creates key (rev 0) or updates it at rev.
func (s *SharedBreakers) put(key string, data []byte, rev uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedWriteTimeout)
	defer cancel()
	if rev == 0 {
		return s.kv.Create(ctx, key, data)
	}
	return s.kv.Update(ctx, key, data, rev)
}

func (s *SharedBreakers) wrote(key string, data []byte, rev uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cache[key]
	c.written = data
	c.rev = max(c.rev, rev)
	if bytes.Equal(c.data, data) {
		c.dirty = false
	}
}

// reload reads key after a conflict and adopts it if it is newer; it
// reports whether this replica's state change is still to be written
// (over the new revision). The read may be a follower's, older than the
// conflict: counts then wait for the next flush.
func (s *SharedBreakers) reload(key string, change bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), sharedWriteTimeout)
	defer cancel()
	e, err := s.kv.Get(ctx, key)
	if err != nil {
		return false
	}
	var remote gobreaker.SharedState
	if json.Unmarshal(e.Value(), &remote) != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cache[key]
	c.rev = max(c.rev, e.Revision())
	if newerState(remote, c.st) {
		c.data, c.st, c.dirty = e.Value(), remote, false
		return false
	}
	return change
}

// get is GetData. It reads from memory, except when the breaker is due
// for its half-open probe: then this replica claims the probe with a
// compare-and-set, and only the winner is given a state that lets one
// call through; the others see the probe taken and refuse. A claim
// older than ttl is taken over (its replica died during the probe).
func (s *SharedBreakers) get(key string, ttl time.Duration) []byte {
	c, ok := s.entry(key)
	if !ok {
		return nil
	}
	snapshot, claim := probeClaim(c, time.Now(), ttl)
	if claim == nil || !s.nc.IsConnected() {
		return c.data
	}
	rev, err := s.put(key, claim, c.rev)
	switch {
	case err == nil:
		var st gobreaker.SharedState
		_ = json.Unmarshal(claim, &st)
		s.mu.Lock()
		e := s.cache[key]
		e.data, e.st, e.rev, e.written, e.dirty = claim, st, max(e.rev, rev), claim, false
		s.mu.Unlock()
		return snapshot
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists):
		// Another replica wrote first: it has the probe. Its state may
		// not be readable here yet (a KV read can be served by a
		// follower), so this call sees the probe taken; the watch
		// brings the real state.
		return claim
	}
	s.setDown(true, err)
	return c.data // NATS away: this replica probes on its own
}

// probeEarly is how long before an open breaker's expiry its probe is
// claimed. gobreaker reads the clock again after GetData: an open state
// handed to it just before its expiry could expire in between and let a
// call through unclaimed, a second probe beside the claimed one.
const probeEarly = 100 * time.Millisecond

// probeClaim returns, when the breaker is due for its half-open probe,
// the state to give the claim's winner (half-open, its probe free) and the
// claim (half-open, the probe taken); nil otherwise. Both are half-open
// already, so that no replica's gobreaker moves from open on its own.
func probeClaim(c sharedEntry, now time.Time, ttl time.Duration) (snapshot, claim []byte) {
	st := c.st
	switch {
	case st.State == gobreaker.StateOpen && !st.Expiry.After(now.Add(probeEarly)):
		st.State, st.Generation, st.Expiry = gobreaker.StateHalfOpen, st.Generation+1, time.Time{}
	case st.State == gobreaker.StateHalfOpen && (st.Counts.Requests == 0 || now.Sub(st.Start) > ttl):
	default:
		return nil, nil
	}
	// The counts keep gobreaker's number of buckets: it indexes them.
	st.Buckets = make([]gobreaker.Counts, len(c.st.Buckets))
	st.Start, st.Age, st.Counts = now, 0, gobreaker.Counts{}
	snapshot, _ = json.Marshal(st)
	st.Counts = gobreaker.Counts{Requests: 1}
	if len(st.Buckets) > 0 {
		st.Buckets[0] = st.Counts
	}
	claim, _ = json.Marshal(st)
	return snapshot, claim
}

// setDown logs once when the store becomes unreachable and once when it
// is back.
func (s *SharedBreakers) setDown(down bool, err error) {
	if s.down.Swap(down) == down {
		return
	}
	if down {
		s.log.Warn("shared breakers: NATS is unreachable; each replica's breakers go on locally", "error", errText(err))
	} else {
		s.log.Info("shared breakers: NATS is back; breaker states are shared again")
	}
}

func errText(err error) string {
	if err == nil {
		return "not connected"
	}
	return err.Error()
}

// sharedKey is the KV key of upstream name's breaker; bytes a key cannot
// hold are written =XX.
func sharedKey(name string) string {
	var b []byte
	for i := range len(name) {
		switch ch := name[i]; {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '_':
			b = append(b, ch)
		default:
			b = fmt.Appendf(b, "=%02X", ch)
		}
	}
	return "state." + string(b)
}

// breakerStore is gobreaker's SharedDataStore for one upstream's breaker.
// Lock and Unlock do nothing: gobreaker holds the lock for the whole
// call, and a cluster-wide lock would let one call of the upstream run at
// a time in the whole cluster. Consistency comes from compare-and-set on
// state changes and on the half-open probe's claim instead.
type breakerStore struct {
	s   *SharedBreakers
	key string
	ttl time.Duration
}

var _ gobreaker.SharedDataStore = breakerStore{}

func (b breakerStore) Lock(string) error   { return nil }
func (b breakerStore) Unlock(string) error { return nil }

func (b breakerStore) GetData(string) ([]byte, error) { return b.s.get(b.key, b.ttl), nil }

func (b breakerStore) SetData(_ string, data []byte) error {
	b.s.set(b.key, data)
	return nil
}

// sharedEngine is a DistributedCircuitBreaker whose state and counts are
// read from the shared store's memory, so that reading them (metrics,
// admin, each call's Breaker field) costs no round trip.
type sharedEngine struct {
	*gobreaker.DistributedCircuitBreaker[*Response]
	store breakerStore
}

// State is the shared state as last known, a due probe as half-open.
func (e *sharedEngine) State() gobreaker.State {
	c, ok := e.store.s.entry(e.store.key)
	if !ok {
		return e.CircuitBreaker.State()
	}
	if c.st.State == gobreaker.StateOpen && !c.st.Expiry.After(time.Now()) {
		return gobreaker.StateHalfOpen
	}
	return c.st.State
}

// Counts are the shared counts as last known.
func (e *sharedEngine) Counts() gobreaker.Counts {
	if c, ok := e.store.s.entry(e.store.key); ok {
		return c.st.Counts
	}
	return e.CircuitBreaker.Counts()
}

// sharedOrLocal makes cfg's breaker shared through opts.SharedBreakers,
// or keeps local, with a warning, outside cluster mode or if the shared
// store cannot be set up.
func sharedOrLocal(cfg Config, opts Options, st gobreaker.Settings, local *gobreaker.CircuitBreaker[*Response]) engine {
	log := logger(opts)
	if opts.SharedBreakers == nil {
		log.Warn("upstream breaker.shared is set but the gateway is not in cluster mode: the breaker is local", "upstream", cfg.Name)
		return local
	}
	store := breakerStore{s: opts.SharedBreakers, key: sharedKey(cfg.Name), ttl: orDefault(cfg.Timeout, DefaultTimeout) + time.Second}
	dcb, err := gobreaker.NewDistributedCircuitBreaker[*Response](store, st)
	if err != nil {
		log.Warn("upstream breaker could not be shared: it is local", "upstream", cfg.Name, "error", err)
		return local
	}
	return &sharedEngine{DistributedCircuitBreaker: dcb, store: store}
}
