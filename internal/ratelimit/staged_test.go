package ratelimit

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

type failingSurface struct{ fail bool }

func (f *failingSurface) Mount(*http.ServeMux, *server.Server, *server.Runtime) error {
	if f.fail {
		return errors.New("mount failed")
	}
	return nil
}

// TestRateAppliesOnSuccessfulReloadOnly: a reload whose swap fails (a
// later surface refuses the plan) keeps the server.rate in force; the
// same change applies once a reload succeeds.
func TestRateAppliesOnSuccessfulReloadOnly(t *testing.T) {
	rtWith := func(r *yamlconf.Rate) *server.Runtime {
		return &server.Runtime{Plan: &pipeline.Plan{Gateway: &gateway.Config{Server: gateway.Server{Rate: r}}}}
	}
	l := New(nil, Options{})
	broken := &failingSurface{}
	srv := server.New(rtWith(nil), server.Options{Surfaces: []server.Surface{l, broken}})
	p := compiled("open", nil)
	p.Access.Rate = nil
	allowed := func(n int) int {
		ok := 0
		for range n {
			if _, err := l.Allow(t.Context(), p, nil, "ip"); err == nil {
				ok++
			}
		}
		return ok
	}
	if got := allowed(3); got != 3 {
		t.Fatalf("no server.rate: %d of 3 allowed", got)
	}
	broken.fail = true
	if err := srv.Swap(rtWith(perRate(1, time.Hour, 1))); err == nil {
		t.Fatal("the swap with a failing surface succeeded")
	}
	if got := allowed(3); got != 3 {
		t.Errorf("after a failed reload: %d of 3 allowed, want the old (absent) rate", got)
	}
	broken.fail = false
	if err := srv.Swap(rtWith(perRate(1, time.Hour, 1))); err != nil {
		t.Fatal(err)
	}
	if got := allowed(3); got != 1 {
		t.Errorf("after a successful reload to 1/hour: %d of 3 allowed, want 1", got)
	}
}
