package connectors

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/manifoldgw/manifold/internal/waittest"
)

func TestCoalesceIdenticalCalls(t *testing.T) {
	const callers = 200
	var calls atomic.Int64
	release, stop := make(chan struct{}), make(chan struct{})
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-release:
		case <-stop:
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"markets":[]}`))
	}, stop)
	u := newUpstream(t, config(t, srv.URL), Options{})

	resps := make([]*Response, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			resps[i], errs[i] = u.Do(context.Background(), &Request{Method: "GET", Path: "/markets"})
		})
	}
	waittest.Until(t, "every caller has joined the call", func() bool { return u.coalescer.waiting.Load() == callers })
	close(release)
	wg.Wait()

	if n := calls.Load(); n != 1 {
		t.Errorf("upstream called %d times for %d identical calls, want 1", n, callers)
	}
	for i := range callers {
		if errs[i] != nil || string(resps[i].Body) != `{"markets":[]}` {
			t.Fatalf("caller %d: %s, %v", i, resps[i].Body, errs[i])
		}
	}
	resps[0].Header.Set("X-Mine", "0")
	if resps[1].Header.Get("X-Mine") != "" {
		t.Error("callers share a Header map")
	}
}

func TestCoalesceCallerCancelLeavesOthers(t *testing.T) {
	var calls atomic.Int64
	release, stop, aborted := make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-release:
			w.Write([]byte(`"ok"`))
		case <-r.Context().Done():
			aborted <- struct{}{}
		case <-stop:
		}
	}, stop)
	u := newUpstream(t, config(t, srv.URL), Options{})
	req := &Request{Method: "GET", Path: "/"}

	ctx, cancel := context.WithCancel(context.Background())
	quitter, stayer := make(chan error, 1), make(chan *Response, 1)
	go func() { _, err := u.Do(ctx, req); quitter <- err }()
	go func() { resp, _ := u.Do(context.Background(), req); stayer <- resp }()
	waittest.Until(t, "both callers have joined the call", func() bool { return u.coalescer.waiting.Load() == 2 })

	cancel()
	if err := waittest.Receive(t, quitter, "the cancelled caller"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller got %v, want context.Canceled", err)
	}
	close(release)
	if resp := waittest.Receive(t, stayer, "the other caller"); string(resp.Body) != `"ok"` {
		t.Errorf("other caller got %q, want the answer", resp.Body)
	}
	select {
	case <-aborted:
		t.Error("one caller's cancellation aborted the shared call")
	default:
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("upstream called %d times, want 1", n)
	}
}

func TestNonIdempotentCallsAreNotCoalesced(t *testing.T) {
	arrived, release := make(chan struct{}, 2), make(chan struct{})
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}, release)
	u := newUpstream(t, config(t, srv.URL), Options{})
	done := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := u.Do(context.Background(), &Request{Method: "POST", Path: "/orders", Body: []byte(`{}`)})
			done <- err
		}()
	}
	waittest.Receive(t, arrived, "the first POST")
	waittest.Receive(t, arrived, "the second POST, made while the first is in flight")
	release <- struct{}{}
	release <- struct{}{}
	waittest.Receive(t, done, "the first POST to end")
	waittest.Receive(t, done, "the second POST to end")
}
