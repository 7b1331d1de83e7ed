package server_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// TestMaxConcurrentFollowsItsBound: the bound is read at each request, so
// raising it admits more at once and lowering it refuses new requests
// while those in flight keep their slots.
func TestMaxConcurrentFollowsItsBound(t *testing.T) {
	var limit atomic.Int64
	limit.Store(1)
	entered, release := make(chan struct{}, 4), make(chan struct{})
	slow := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		entered <- struct{}{}
		<-release
	})
	h := httptest.NewServer(server.MaxConcurrentOf(slow, func() int { return int(limit.Load()) }))
	defer h.Close()
	get := func() int {
		resp, err := http.Get(h.URL + "/slow")
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var wg sync.WaitGroup
	wg.Go(func() { get() })
	<-entered
	if st := get(); st != 503 {
		t.Errorf("second request under a bound of 1: %d, want 503", st)
	}
	limit.Store(2)
	wg.Go(func() { get() })
	<-entered // admitted under the raised bound
	limit.Store(1)
	if st := get(); st != 503 {
		t.Errorf("after lowering the bound with 2 in flight: %d, want 503", st)
	}
	close(release)
	wg.Wait()
	if st := get(); st != 200 {
		t.Errorf("once idle: %d, want 200", st)
	}
}

// TestProxiesFollowMountedPlan: trusted_proxies of a swapped-in plan
// applies to the next request; a swap that fails keeps the old list.
func TestProxiesFollowMountedPlan(t *testing.T) {
	ps, err := server.NewProxies(nil)
	if err != nil {
		t.Fatal(err)
	}
	rt := func(trusted ...string) *server.Runtime {
		return &server.Runtime{Plan: &pipeline.Plan{Gateway: &gateway.Config{Server: gateway.Server{TrustedProxies: trusted}}}}
	}
	broken := &brokenSurface{}
	srv := server.New(rt(), server.Options{Surfaces: []server.Surface{ps, broken}})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "10.0.0.1:4000"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	if got := ps.ClientIP(req); got != "10.0.0.1" {
		t.Fatalf("no proxy trusted: client %q", got)
	}
	broken.fail = true
	if err := srv.Swap(rt("10.0.0.0/8")); err == nil {
		t.Fatal("swap with a broken surface succeeded")
	}
	if got := ps.ClientIP(req); got != "10.0.0.1" {
		t.Errorf("after a failed swap: client %q, want the peer", got)
	}
	broken.fail = false
	if err := srv.Swap(rt("10.0.0.0/8")); err != nil {
		t.Fatal(err)
	}
	if got, via := ps.ClientIP(req), ps.Via(req).Get("X-Forwarded-For"); got != "203.0.113.9" || via != "203.0.113.9, 10.0.0.1" {
		t.Errorf("after the swap: client %q, X-Forwarded-For %q", got, via)
	}
}

type brokenSurface struct{ fail bool }

func (b *brokenSurface) Mount(*http.ServeMux, *server.Server, *server.Runtime) error {
	if b.fail {
		return http.ErrAbortHandler
	}
	return nil
}
