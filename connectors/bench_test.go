package connectors

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func BenchmarkCacheHit(b *testing.B) {
	srv := server(b, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"markets":[{"id":1},{"id":2}]}`))
	})
	c := sharedCache(b)
	u := newUpstream(b, config(b, srv.URL), Options{Cache: c})
	req := &Request{Method: "GET", Path: "/markets", CacheTTL: time.Hour,
		Header: http.Header{"X-Tenant": {"a"}}}
	if _, err := u.Do(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	c.Wait()
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := u.Do(context.Background(), req); resp.Cache != CacheHit {
			b.Fatalf("cache %q, want hit", resp.Cache)
		}
	}
}

func BenchmarkOpenBreaker(b *testing.B) {
	cfg := config(b, refusedURL(b))
	cfg.Breaker = BreakerConfig{Failures: 1, Cooldown: time.Hour}
	u := newUpstream(b, cfg, Options{})
	req := &Request{Method: "GET", Path: "/markets"}
	u.Do(context.Background(), req)
	b.ReportAllocs()
	for b.Loop() {
		if resp, _ := u.Do(context.Background(), req); resp.Breaker != "open" {
			b.Fatalf("breaker %q, want open", resp.Breaker)
		}
	}
}

func BenchmarkHTTPCall(b *testing.B) {
	srv := server(b, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"markets":[{"id":1},{"id":2}]}`))
	})
	u := newUpstream(b, config(b, srv.URL), Options{})
	req := &Request{Method: "GET", Path: "/markets"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := u.Do(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
