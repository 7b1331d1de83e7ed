package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// streamSurface serves a long-lived stream that detaches from its Runtime.
type streamSurface struct {
	entered chan struct{}
	done    chan struct{}
}

func (s *streamSurface) Mount(mux *http.ServeMux, _ *Server, _ *Runtime) error {
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		Detach(r.Context())
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		s.entered <- struct{}{}
		select {
		case <-s.done:
		case <-r.Context().Done():
		}
	})
	return nil
}

// TestDetachedStreamDoesNotHoldDrain keeps an event stream open across a
// reload: the old Runtime drains at once, because the stream detached.
func TestDetachedStreamDoesNotHoldDrain(t *testing.T) {
	up := backend(t, `{"v":1}`, nil)
	gw := fmt.Sprintf("upstreams:\n  up: {url: %q}\n", up.URL)
	files := map[string]string{"gateway.yaml": gw, "p.yaml": "name: p\npath: /p\nsteps:\n  s: {upstream: up, path: /}\n"}
	old, err := Build(loadPlan(t, files), nil)
	if err != nil {
		t.Fatal(err)
	}
	stream := &streamSurface{entered: make(chan struct{}, 1), done: make(chan struct{})}
	defer close(stream.done)
	s := New(old, Options{Surfaces: []Surface{stream}})
	front := httptest.NewServer(s)
	defer front.Close()
	resp, err := http.Get(front.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-stream.entered
	next, err := BuildWith(loadPlan(t, files), BuildOptions{Previous: old})
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if err := s.Swap(next); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := old.Drain(ctx); err != nil {
		t.Errorf("the old Runtime waited for a detached stream: %v", err)
	}
}
