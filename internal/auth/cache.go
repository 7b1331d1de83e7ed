package auth

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// MaxCached bounds the tokens whose outcome is kept (verified JWTs,
// introspection answers), per cache.
const MaxCached = 10_000

// verifiedTTL bounds how long a verified JWT is reused without checking
// its signature again: a key withdrawn from the JWKS stops working within
// it.
const verifiedTTL = time.Minute

// cached is the outcome for one token: its caller, or nil for a token
// known to be inactive.
type cached struct {
	id    *pipeline.Identity
	until time.Time
}

// tokenCache keeps outcomes by the token's SHA-256 (never the token),
// until their own deadline. When full, expired entries go first, then
// arbitrary ones (map order), so memory stays bounded.
type tokenCache struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[[sha256.Size]byte]cached
}

func newTokenCache(now func() time.Time) *tokenCache {
	return &tokenCache{now: now, m: map[[sha256.Size]byte]cached{}}
}

func (c *tokenCache) get(key [sha256.Size]byte) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if ok && !c.now().Before(e.until) {
		delete(c.m, key)
		return cached{}, false
	}
	return e, ok
}

func (c *tokenCache) put(key [sha256.Size]byte, e cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= MaxCached {
		now := c.now()
		for k, v := range c.m {
			if !now.Before(v.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < MaxCached*9/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = e
}
