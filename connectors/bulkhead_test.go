package connectors

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/waittest"
)

func TestBulkheadFull(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}, release)
	cfg := config(t, srv.URL)
	cfg.Concurrency = 1
	u := newUpstream(t, cfg, Options{})

	first := make(chan error, 1)
	go func() {
		_, err := u.Do(context.Background(), &Request{Method: "GET", Path: "/first"})
		first <- err
	}()
	waittest.Receive(t, arrived, "the first call to reach the upstream")
	if n := u.InFlight(); n != 1 {
		t.Errorf("InFlight %d, want 1", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := u.Do(ctx, &Request{Method: "GET", Path: "/second"})
	if !errors.Is(err, ErrBulkheadFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want ErrBulkheadFull after the deadline", err)
	}
	if c := u.Counts(); c.Failures != 0 {
		t.Errorf("bulkhead rejection counted as breaker failure: %+v", c)
	}
	release <- struct{}{}
	if err := waittest.Receive(t, first, "the first call"); err != nil {
		t.Errorf("first call: %v", err)
	}
}
