package gateway

import (
	"strings"
	"testing"
)

// TestBreakerShared: `breaker: {shared: true}` loads, defaults to false,
// and a misspelt key is an error at its position.
func TestBreakerShared(t *testing.T) {
	gw, errs := load(t, "upstreams:\n  a: {url: http://a.test, breaker: {shared: true}}\n  b: {url: http://b.test}\n", nil)
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	if !gw.Upstream("a").Breaker.Shared || gw.Upstream("b").Breaker.Shared {
		t.Errorf("shared: a %v, b %v; want true, false", gw.Upstream("a").Breaker.Shared, gw.Upstream("b").Breaker.Shared)
	}
	if gw.Upstream("a").Breaker.Failures != DefaultBreakerFailures {
		t.Errorf("the other breaker keys lost their defaults: %+v", gw.Upstream("a").Breaker)
	}
	_, errs = load(t, "upstreams:\n  a: {url: http://a.test, breaker: {sharde: true}}\n", nil)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "dir/gateway.yaml:2:") || !strings.Contains(errs[0].Error(), "sharde") {
		t.Errorf("a misspelt key: %v, want one error at its position", errs)
	}
}
