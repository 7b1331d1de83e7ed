// Package ratelimit applies gateway.yaml's rate limits to pipeline calls
// with token buckets (golang.org/x/time/rate): `rate: N/sec|min|hour`
// with an optional burst, at three levels that all must allow a call:
//
//   - the gateway (server.rate): every call together;
//   - the consumer (consumers.<name>.rate): each consumer across pipelines;
//   - the pipeline (access.rate, or defaults.access.rate): each caller of
//     that pipeline, keyed by consumer or token subject, or by client IP
//     for anonymous callers.
//
// Limiter implements server.Limiter. Answers carry the RateLimit-Policy
// and RateLimit header fields (draft-ietf-httpapi-ratelimit-headers); a
// refused call is a 429 problem with Retry-After, and takes no token from
// the other levels. Buckets idle long enough to be full again are evicted,
// and the number of buckets is capped, so memory stays bounded whatever
// the number of clients.
//
// Failures is the same store keyed by client address alone: a budget of
// failed attempts (auth.max_failures, for refused credentials).
package ratelimit
