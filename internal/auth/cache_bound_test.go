package auth

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"
)

// TestTokenCacheStaysBounded: however many distinct tokens callers send,
// the cache holds at most MaxCached outcomes; when full, expired ones go
// first, and a fresh outcome is always kept.
func TestTokenCacheStaysBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := newTokenCache(func() time.Time { return now })
	key := func(i int) [sha256.Size]byte {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(i))
		return sha256.Sum256(b[:])
	}
	// Half of a full cache has expired.
	for i := range MaxCached {
		until := now.Add(time.Minute)
		if i%2 == 0 {
			until = now.Add(-time.Second)
		}
		c.put(key(i), cached{until: until})
	}
	c.put(key(MaxCached), cached{until: now.Add(time.Minute)})
	if n := len(c.m); n != MaxCached/2+1 {
		t.Errorf("after one more put into a full cache with half expired: %d entries, want %d", n, MaxCached/2+1)
	}
	if _, ok := c.get(key(1)); !ok {
		t.Error("a live outcome was evicted while expired ones were there")
	}
	// A full cache of live outcomes sheds a tenth and keeps the new one.
	for i := range 2 * MaxCached {
		c.put(key(MaxCached+1+i), cached{until: now.Add(time.Minute)})
		if len(c.m) > MaxCached {
			t.Fatalf("%d entries, over MaxCached", len(c.m))
		}
	}
	last := key(3 * MaxCached)
	if _, ok := c.get(last); !ok {
		t.Error("the newest outcome is not kept")
	}
}
