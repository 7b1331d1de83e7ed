package connectors

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/manifoldgw/manifold/internal/cache"
)

// stepCache is the cache layer: a step with `cache:` is answered from the
// shared cache while its entry is fresh, and from its stale entry when the
// upstream fails (RFC 5861's stale-if-error). Only 2xx answers are stored.
type stepCache struct {
	keyer
}

func (s stepCache) wrap(next Connector) Connector {
	if s.cache == nil {
		return next
	}
	return connectorFunc(func(ctx context.Context, req *Request) (*Response, error) {
		if req.CacheTTL <= 0 || !s.cacheable(req) {
			return next.Do(ctx, req)
		}
		key := s.key(req)
		entry, fresh, found := s.cache.Get(key)
		if found && fresh {
			return fromEntry(entry, CacheHit, s.cache.Now()), nil
		}
		resp, err := next.Do(ctx, req)
		if resp == nil {
			resp = &Response{}
		}
		if err != nil {
			if found && upstreamFailed(err) {
				stale := fromEntry(entry, CacheStale, s.cache.Now())
				stale.Attempts, stale.Breaker = resp.Attempts, resp.Breaker
				return stale, nil
			}
			resp.Cache = CacheMiss
			return resp, err
		}
		resp.Cache = s.store(key, req, resp)
		return resp, nil
	})
}

// store keeps a good answer for req.CacheTTL, or less if the upstream says
// so, plus req.StaleTTL for stale-if-error. It returns the cache outcome.
func (s stepCache) store(key string, req *Request, resp *Response) string {
	ttl, ok := freshFor(resp.Header, req.CacheTTL)
	if !ok || resp.Status < 200 || resp.Status > 299 {
		return CacheBypass
	}
	now := s.cache.Now()
	s.cache.Set(key, &cache.Entry{
		Value:      resp.Body, // shared read-only from now on
		Header:     snapshot(resp.Header),
		Status:     resp.Status,
		StoredAt:   now,
		FreshUntil: now.Add(ttl),
		StaleUntil: now.Add(ttl + max(req.StaleTTL, 0)),
	})
	return CacheMiss
}

// fromEntry answers from a cache entry; the caller gets its own Header.
func fromEntry(e *cache.Entry, outcome string, now time.Time) *Response {
	return &Response{
		Status: e.Status,
		Header: e.Header.Clone(),
		Body:   e.Value,
		Cache:  outcome,
		Age:    e.Age(now),
	}
}

// snapshot copies the headers worth keeping with a cached answer. A shared
// cache must not hand one client's cookies to another.
func snapshot(h http.Header) http.Header {
	out := h.Clone()
	out.Del("Set-Cookie")
	return out
}

// freshFor applies the upstream's Cache-Control (RFC 9111, section 5.2.2)
// to the step's ttl: no-store, no-cache and private forbid storing; max-age
// and s-maxage (which wins, the gateway being a shared cache) may shorten
// the ttl, never lengthen it.
func freshFor(h http.Header, ttl time.Duration) (time.Duration, bool) {
	var maxAge, sMaxAge time.Duration = -1, -1
	for _, line := range h.Values("Cache-Control") {
		for directive := range strings.SplitSeq(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache", "private":
				return 0, false
			case "max-age":
				maxAge = seconds(value)
			case "s-maxage":
				sMaxAge = seconds(value)
			}
		}
	}
	if sMaxAge >= 0 {
		maxAge = sMaxAge
	}
	if maxAge >= 0 {
		ttl = min(ttl, maxAge)
	}
	return ttl, ttl > 0
}

// seconds parses a delta-seconds value, possibly quoted; -1 if invalid.
func seconds(v string) time.Duration {
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return time.Duration(min(n, int64(1<<31))) * time.Second
}

// upstreamFailed reports whether err means the upstream could not answer:
// unreachable, timed out, 5xx, too large, breaker open, bulkhead full. An
// answer the upstream chose to give (a 4xx, GraphQL errors) is not a
// failure, nor is a request the engine got wrong.
func upstreamFailed(err error) bool {
	return err != nil && !upstreamAnswered(err) && !errors.Is(err, ErrInvalidRequest)
}

// upstreamAnswered reports whether err is a deliberate answer of the
// upstream: a status below 500, GraphQL errors, a body not in its format
// or a redirect its configuration refuses.
func upstreamAnswered(err error) bool {
	var serr *StatusError
	if errors.As(err, &serr) {
		return serr.Status < 500
	}
	var (
		gerr *GraphQLError
		ferr *FormatError
		rerr *RedirectError
	)
	return errors.As(err, &gerr) || errors.As(err, &ferr) || errors.As(err, &rerr)
}
