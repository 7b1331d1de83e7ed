// Package cache is the gateway's one shared, size-bounded answer cache.
//
// Both caches of the request flow use it: the step cache in front of each
// upstream (package connectors) and the whole-response cache in front of a
// pipeline run. It stores opaque byte values with a header snapshot and two
// deadlines, fresh-until and stale-until, so that a caller can serve a stale
// answer when its source fails (RFC 5861's stale-if-error).
//
// The cache is built on ristretto (github.com/dgraph-io/ristretto/v2): the
// cost of an entry is its size in bytes, so `cache.max_size` in gateway.yaml
// bounds memory, and admission and eviction follow ristretto's TinyLFU policy.
// Writes are applied asynchronously: a Get right after a Set may miss until
// the write is applied (Wait blocks until it is). A Set may also be dropped
// under contention or rejected by the admission policy; a cache is allowed
// to forget.
//
// Ristretto stores hashes, not keys, so it cannot delete by prefix. Purging
// is done with generations instead: every key built by Key embeds a global
// generation and its namespace's generation; Purge and PurgeNamespace bump
// them, which makes the old entries unreachable at once. They stay counted
// until ristretto evicts them or their TTL ends, so memory stays bounded.
package cache
