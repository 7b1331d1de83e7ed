package connectors

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestForceBreaker checks the operator's override: forced open fails fast
// without the network, forced closed lets calls through a tripped breaker,
// auto hands the state back to the failure counts.
func TestForceBreaker(t *testing.T) {
	var calls atomic.Int64
	var fail atomic.Bool
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	})
	cfg := config(t, srv.URL)
	cfg.Breaker = BreakerConfig{Failures: 2, Cooldown: time.Hour}
	u := newUpstream(t, cfg, Options{})
	do := func() (*Response, error) { return u.Do(context.Background(), &Request{Method: "GET", Path: "/"}) }

	steps := []struct {
		name        string
		force       string
		fail        bool
		wantErr     error
		wantState   string
		wantCalls   int64 // upstream calls made by this step
		wantForce   string
		repetitions int
	}{
		{"forced open fails fast", BreakerOpen, false, ErrBreakerOpen, "open", 0, BreakerOpen, 3},
		{"auto again calls the healthy upstream", BreakerAuto, false, nil, "closed", 1, BreakerAuto, 1},
		{"failures trip the breaker", BreakerAuto, true, nil, "open", 2, BreakerAuto, 3},
		{"forced closed reaches the upstream", BreakerClosed, false, nil, "closed", 2, BreakerClosed, 2},
		{"auto restores the tripped state", BreakerAuto, false, ErrBreakerOpen, "open", 0, BreakerAuto, 1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := u.ForceBreaker(s.force); err != nil {
				t.Fatal(err)
			}
			fail.Store(s.fail)
			before := calls.Load()
			var err error
			var resp *Response
			for range s.repetitions {
				resp, err = do()
			}
			if s.wantErr != nil && !errors.Is(err, s.wantErr) {
				t.Errorf("last call: got %v, want %v", err, s.wantErr)
			}
			if s.wantErr == nil && !s.fail && err != nil {
				t.Errorf("last call: got %v, want success", err)
			}
			if got := calls.Load() - before; got != s.wantCalls {
				t.Errorf("upstream calls: got %d, want %d", got, s.wantCalls)
			}
			if got := u.BreakerState(); got != s.wantState {
				t.Errorf("state: got %q, want %q", got, s.wantState)
			}
			if resp.Breaker != s.wantState {
				t.Errorf("response breaker: got %q, want %q", resp.Breaker, s.wantState)
			}
			if got := u.BreakerOverride(); got != s.wantForce {
				t.Errorf("override: got %q, want %q", got, s.wantForce)
			}
		})
	}
	if err := u.ForceBreaker("half"); !errors.Is(err, ErrBreakerMode) {
		t.Errorf("ForceBreaker(half): got %v, want ErrBreakerMode", err)
	}
}
