package connectors

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/manifoldgw/manifold/internal/waittest"
)

// Closing an upstream (a reload retires it) ends its idle workers, and a
// call made while it drains still gets its answer.
func TestUpstreamCloseEndsWorkers(t *testing.T) {
	srv := server(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) })
	u := newUpstream(t, config(t, srv.URL), Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if _, err := u.Do(context.Background(), &Request{Method: "GET", Path: "/" + strconv.Itoa(i)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if u.coalescer.workers.Live() == 0 {
		t.Fatal("no worker ran the calls")
	}
	u.Close()
	waittest.Until(t, "the workers have ended", func() bool { return u.coalescer.workers.Live() == 0 })
	if _, err := u.Do(context.Background(), &Request{Method: "GET", Path: "/late"}); err != nil {
		t.Errorf("call after Close: %v", err)
	}
	if n := u.coalescer.workers.Live(); n != 0 {
		t.Errorf("%d workers started after Close, want none", n)
	}
}
