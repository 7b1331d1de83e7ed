package connectors

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/cache"
	"github.com/manifoldgw/manifold/internal/waittest"
)

func sharedCache(t testing.TB) *cache.Cache {
	t.Helper()
	c, err := cache.New(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// countingServer answers `{"n":1}` with the given Cache-Control, counting calls.
func countingServer(t testing.TB, cacheControl string) (*Config, *atomic.Int64) {
	var calls atomic.Int64
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		w.Header().Set("Set-Cookie", "session=private")
		w.Write([]byte(`{"n":1}`))
	})
	cfg := config(t, srv.URL)
	return &cfg, &calls
}

func TestStepCacheHitAndMiss(t *testing.T) {
	cfg, calls := countingServer(t, "")
	c := sharedCache(t)
	u := newUpstream(t, *cfg, Options{Cache: c})
	req := &Request{Method: "GET", Path: "/m", CacheTTL: time.Hour}

	resp, err := u.Do(context.Background(), req)
	if err != nil || resp.Cache != CacheMiss || resp.Attempts != 1 {
		t.Fatalf("first call: %v, cache %q, attempts %d; want a miss", err, resp.Cache, resp.Attempts)
	}
	c.Wait()
	resp, err = u.Do(context.Background(), req)
	if err != nil || resp.Cache != CacheHit || resp.Attempts != 0 || string(resp.Body) != `{"n":1}` {
		t.Fatalf("second call: %v, cache %q, attempts %d, body %s; want a hit", err, resp.Cache, resp.Attempts, resp.Body)
	}
	if resp.Age < 0 || resp.Breaker != "closed" || resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("hit: age %s, breaker %q, cookie %q; want age ≥ 0, closed, no cookie", resp.Age, resp.Breaker, resp.Header.Get("Set-Cookie"))
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("upstream called %d times, want 1", n)
	}

	c.PurgeNamespace(cfg.Name)
	if resp, _ := u.Do(context.Background(), req); resp.Cache != CacheMiss {
		t.Errorf("after PurgeNamespace: cache %q, want miss", resp.Cache)
	}
}

func TestStepCacheBypass(t *testing.T) {
	for _, cc := range []string{"no-store", "private", "no-cache", "max-age=0", "max-age=60, s-maxage=0", "Private, max-age=60"} {
		t.Run(cc, func(t *testing.T) {
			cfg, calls := countingServer(t, cc)
			c := sharedCache(t)
			u := newUpstream(t, *cfg, Options{Cache: c})
			req := &Request{Method: "GET", Path: "/m", CacheTTL: time.Hour}
			for range 2 {
				resp, err := u.Do(context.Background(), req)
				if err != nil || resp.Cache != CacheBypass {
					t.Fatalf("got %v, cache %q; want bypass", err, resp.Cache)
				}
				c.Wait()
			}
			if n := calls.Load(); n != 2 {
				t.Errorf("upstream called %d times, want 2", n)
			}
		})
	}
}

func TestFreshFor(t *testing.T) {
	tests := []struct {
		cacheControl string
		ttl, want    time.Duration
	}{
		{"", time.Hour, time.Hour},
		{"max-age=60", time.Hour, time.Minute},
		{"public, max-age=3600", time.Second, time.Second},
		{`max-age="30"`, time.Hour, 30 * time.Second},
		{"max-age=60, s-maxage=30", time.Hour, 30 * time.Second},
		{"max-age=bogus", time.Hour, time.Hour},
	}
	for _, tt := range tests {
		h := http.Header{"Cache-Control": {tt.cacheControl}}
		if got, ok := freshFor(h, tt.ttl); !ok || got != tt.want {
			t.Errorf("freshFor(%q, %s) = %s, %v; want %s", tt.cacheControl, tt.ttl, got, ok, tt.want)
		}
	}
}

func TestMaxAgeShortensStoredEntry(t *testing.T) {
	cfg, _ := countingServer(t, "max-age=60")
	c := sharedCache(t)
	u := newUpstream(t, *cfg, Options{Cache: c})
	req := &Request{Method: "GET", Path: "/m", CacheTTL: time.Hour, StaleTTL: time.Hour}
	u.Do(context.Background(), req)
	c.Wait()
	e, fresh, ok := c.Get(keyer{cache: c, name: cfg.Name}.key(req))
	if !ok || !fresh {
		t.Fatal("entry not stored")
	}
	if got := e.FreshUntil.Sub(e.StoredAt); got != time.Minute {
		t.Errorf("fresh for %s, want 1m (max-age)", got)
	}
	if got := e.StaleUntil.Sub(e.FreshUntil); got != time.Hour {
		t.Errorf("stale window %s, want 1h", got)
	}
}

func TestNotCached(t *testing.T) {
	tests := []struct {
		name string
		req  Request
	}{
		{"POST", Request{Method: "POST", Path: "/m", Body: []byte(`{}`), CacheTTL: time.Hour}},
		{"PUT", Request{Method: "PUT", Path: "/m", Body: []byte(`{}`), CacheTTL: time.Hour}},
		{"no ttl", Request{Method: "GET", Path: "/m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, calls := countingServer(t, "")
			c := sharedCache(t)
			u := newUpstream(t, *cfg, Options{Cache: c})
			for range 2 {
				if resp, err := u.Do(context.Background(), &tt.req); err != nil || resp.Cache != CacheNone {
					t.Fatalf("got %v, cache %q; want no caching", err, resp.Cache)
				}
				c.Wait()
			}
			if n := calls.Load(); n != 2 {
				t.Errorf("upstream called %d times, want 2", n)
			}
		})
	}
}

func TestErrorsAreNotStored(t *testing.T) {
	var calls atomic.Int64
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusNotFound)
	})
	c := sharedCache(t)
	u := newUpstream(t, config(t, srv.URL), Options{Cache: c})
	for range 2 {
		resp, err := u.Do(context.Background(), &Request{Method: "GET", Path: "/m", CacheTTL: time.Hour})
		if err == nil || resp.Cache != CacheMiss || resp.Status != http.StatusNotFound {
			t.Fatalf("got %v, cache %q, status %d; want a 404 miss", err, resp.Cache, resp.Status)
		}
		c.Wait()
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("upstream called %d times, want 2", n)
	}
}

// flakyServer answers `{"n":1}` while healthy, then status.
func flakyServer(t testing.TB, status int) (Config, *atomic.Bool) {
	var healthy atomic.Bool
	healthy.Store(true)
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(status)
			return
		}
		w.Write([]byte(`{"n":1}`))
	})
	return config(t, srv.URL), &healthy
}

func TestStaleIfError(t *testing.T) {
	cfg, healthy := flakyServer(t, http.StatusServiceUnavailable)
	cfg.Breaker = BreakerConfig{Failures: 1, Cooldown: time.Hour}
	c := sharedCache(t)
	u := newUpstream(t, cfg, Options{Cache: c})
	req := &Request{Method: "GET", Path: "/m", CacheTTL: 10 * time.Millisecond, StaleTTL: 300 * time.Millisecond}
	if _, err := u.Do(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	healthy.Store(false)

	// Fresh hits, then the upstream fails and opens the breaker: stale.
	waittest.Until(t, "a stale answer while the breaker is open", func() bool {
		resp, err := u.Do(context.Background(), req)
		if err != nil || string(resp.Body) != `{"n":1}` {
			t.Fatalf("within the stale window: %v, body %s; want the last good answer", err, resp.Body)
		}
		return resp.Cache == CacheStale && resp.Breaker == "open" && resp.Age > 10*time.Millisecond
	})
	// Past the stale window: the error.
	waittest.Until(t, "the stale window to end", func() bool {
		resp, err := u.Do(context.Background(), req)
		if err != nil && (!errors.Is(err, ErrBreakerOpen) || resp.Cache != CacheMiss) {
			t.Fatalf("after the stale window: %v, cache %q; want ErrBreakerOpen, miss", err, resp.Cache)
		}
		return err != nil
	})
}

func TestNoStaleAnswerFor4xx(t *testing.T) {
	cfg, healthy := flakyServer(t, http.StatusNotFound)
	c := sharedCache(t)
	u := newUpstream(t, cfg, Options{Cache: c})
	req := &Request{Method: "GET", Path: "/m", CacheTTL: 10 * time.Millisecond, StaleTTL: time.Hour}
	u.Do(context.Background(), req)
	c.Wait()
	healthy.Store(false)
	var err error
	waittest.Until(t, "the fresh window to end", func() bool {
		_, err = u.Do(context.Background(), req)
		return err != nil
	})
	var serr *StatusError
	if !errors.As(err, &serr) || serr.Status != http.StatusNotFound {
		t.Errorf("got %v, want the 404 rather than a stale answer", err)
	}
}

func TestGraphQLQueriesAreCached(t *testing.T) {
	var calls atomic.Int64
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Write([]byte(`{"data":{"a":1}}`))
	})
	cfg := config(t, srv.URL)
	cfg.Kind = KindGraphQL
	c := sharedCache(t)
	u := newUpstream(t, cfg, Options{Cache: c})
	query := &Request{Method: "POST", Body: []byte(`{"query":"{ a }"}`), CacheTTL: time.Hour}
	mutation := &Request{Method: "POST", Body: []byte(`{"query":"mutation { a }"}`), CacheTTL: time.Hour}
	for _, req := range []*Request{query, query, mutation, mutation} {
		if _, err := u.Do(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		c.Wait()
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("upstream called %d times, want 3 (one query, two mutations)", n)
	}
}
