package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"sync"
	"sync/atomic"
)

// Key builds the key for parts in namespace ns (an upstream or pipeline
// name). Parts are length-prefixed before hashing, so ("ab", "c") and
// ("a", "bc") differ, and hashed with SHA-256, so a key is short whatever
// the parts hold and distinct parts never share an entry (the parts may
// include credentials; a weak hash could hand one caller's answer to
// another). The key embeds the current generations of the cache and of ns:
// after Purge or PurgeNamespace, the same parts give a new key.
//
// Key works on a nil *Cache, with generation zero, so that callers without
// a cache (request coalescing) build keys the same way.
func (c *Cache) Key(ns string, parts ...[]byte) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	var all, own uint64
	if c != nil {
		all, own = c.gens.get(ns)
	}
	b := make([]byte, 0, len(ns)+2*20+3+sha256.Size)
	b = append(b, ns...)
	b = append(b, 0)
	b = strconv.AppendUint(b, all, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, own, 10)
	b = append(b, 0)
	b = h.Sum(b)
	return string(b)
}

// generations counts purges: one counter for the whole cache, one per
// namespace. Namespaces are upstream and pipeline names, a small set, so
// the map does not need pruning.
type generations struct {
	all atomic.Uint64
	ns  sync.Map // string → *atomic.Uint64
}

func (g *generations) get(ns string) (all, own uint64) {
	all = g.all.Load()
	if v, ok := g.ns.Load(ns); ok {
		own = v.(*atomic.Uint64).Load()
	}
	return all, own
}

func (g *generations) bump(ns string) {
	v, _ := g.ns.LoadOrStore(ns, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
}

func (g *generations) bumpAll() { g.all.Add(1) }
