package ratelimit

import (
	"time"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Failures is a budget of failed attempts per client address, such as
// refused credentials: each failure takes a token from the client's
// bucket, and a client whose bucket is empty is refused before its next
// attempt is even looked at. Clients are keyed as anonymous callers are
// by Limiter (an IPv4 address, an IPv6 /64) and the buckets live in the
// same bounded store, so memory stays bounded whatever the number of
// addresses. Safe for concurrent use.
type Failures struct {
	store *store
	now   func() time.Time
}

// NewFailures returns an empty budget keeping at most maxKeys buckets
// (DefaultMaxKeys when not positive); now is the clock (nil: time.Now).
func NewFailures(maxKeys int, now func() time.Time) *Failures {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	if now == nil {
		now = time.Now
	}
	return &Failures{store: newStore(maxKeys), now: now}
}

// Exhausted reports whether client has no failure left under r and, if
// so, how long until it has one again (whole seconds, for Retry-After).
func (f *Failures) Exhausted(r *yamlconf.Rate, client string) (int, bool) {
	now := f.now()
	lim := f.store.get(policyKey("f", r), clientKey(client), r, now).lim
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	wait := time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second))
	return seconds(wait), true
}

// Fail takes one failure from client's budget under r. Failures checked
// concurrently may overdraw the bucket: that only pushes the client's
// next attempt further away, so a burst cannot buy more than its budget.
func (f *Failures) Fail(r *yamlconf.Rate, client string) {
	now := f.now()
	f.store.get(policyKey("f", r), clientKey(client), r, now).lim.ReserveN(now, 1)
}
