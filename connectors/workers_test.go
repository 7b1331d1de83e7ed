package connectors

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// jobFunc adapts a function to a worker's job.
type jobFunc func()

func (f jobFunc) run() { f() }

// live is the number of the pool's goroutines, busy or idle.
func (p *workers) live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}

// More shared calls in flight than the pool has workers never wait for
// one: the extra ones get goroutines of their own.
func TestWorkersPastTheirBound(t *testing.T) {
	p := &workers{max: 2, idle: time.Hour}
	defer p.close()
	const jobs = 5
	started, release := make(chan struct{}, jobs), make(chan struct{})
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		p.run(jobFunc(func() {
			defer wg.Done()
			started <- struct{}{}
			<-release
		}))
	}
	for i := range jobs {
		within(t, started, "job "+strconv.Itoa(i)+" to start")
	}
	if n := p.live(); n != 2 {
		t.Errorf("%d workers for %d jobs, want the bound, 2", n, jobs)
	}
	close(release)
	wg.Wait()
	done := make(chan struct{})
	p.run(jobFunc(func() { close(done) }))
	within(t, done, "a job on a worker that ran one before")
	if n := p.live(); n != 2 {
		t.Errorf("%d workers after reuse, want 2", n)
	}
}

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
	if u.coalescer.workers.live() == 0 {
		t.Fatal("no worker ran the calls")
	}
	u.Close()
	eventually(t, "the workers have ended", func() bool { return u.coalescer.workers.live() == 0 })
	if _, err := u.Do(context.Background(), &Request{Method: "GET", Path: "/late"}); err != nil {
		t.Errorf("call after Close: %v", err)
	}
	if n := u.coalescer.workers.live(); n != 0 {
		t.Errorf("%d workers started after Close, want none", n)
	}
}

// A burst's workers end once they have waited idle for the pool's idle
// time, with no call after it to retire them, and a later call still runs.
func TestIdleWorkersRetire(t *testing.T) {
	p := &workers{max: 4, idle: 50 * time.Millisecond}
	defer p.close()
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		p.run(jobFunc(func() { defer wg.Done(); <-release }))
	}
	if n := p.live(); n != 4 {
		t.Fatalf("%d workers for 4 jobs in flight, want 4", n)
	}
	close(release)
	wg.Wait()
	eventually(t, "the idle workers have ended", func() bool { return p.live() == 0 })
	done := make(chan struct{})
	p.run(jobFunc(func() { close(done) }))
	within(t, done, "a job after the workers retired")
}
