package workers

import (
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/manifoldgw/manifold/internal/waittest"
)

// jobFunc adapts a function to a Job.
type jobFunc func()

func (f jobFunc) Run() { f() }

// More jobs in flight than the pool has workers never wait for one: the
// extra ones get goroutines of their own.
func TestWorkersPastTheirBound(t *testing.T) {
	p := New(2, time.Hour)
	defer p.Close()
	const jobs = 5
	started, release := make(chan struct{}, jobs), make(chan struct{})
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		p.Go(jobFunc(func() {
			defer wg.Done()
			started <- struct{}{}
			<-release
		}))
	}
	for i := range jobs {
		waittest.Receive(t, started, "job "+strconv.Itoa(i)+" to start")
	}
	if n := p.Live(); n != 2 {
		t.Errorf("%d workers for %d jobs, want the bound, 2", n, jobs)
	}
	close(release)
	wg.Wait()
	done := make(chan struct{})
	p.Go(jobFunc(func() { close(done) }))
	waittest.Receive(t, done, "a job on a worker that ran one before")
	if n := p.Live(); n != 2 {
		t.Errorf("%d workers after reuse, want 2", n)
	}
}

// A burst's workers end once they have waited idle for the pool's idle
// time, with no call after it to retire them, and a later call still runs.
func TestIdleWorkersRetire(t *testing.T) {
	p := New(4, 50*time.Millisecond)
	defer p.Close()
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		p.Go(jobFunc(func() { defer wg.Done(); <-release }))
	}
	if n := p.Live(); n != 4 {
		t.Fatalf("%d workers for 4 jobs in flight, want 4", n)
	}
	close(release)
	wg.Wait()
	waittest.Until(t, "the idle workers have ended", func() bool { return p.Live() == 0 })
	done := make(chan struct{})
	p.Go(jobFunc(func() { close(done) }))
	waittest.Receive(t, done, "a job after the workers retired")
}

// An idle worker keeps nothing of the job it ran: what the job held (a
// run's answers, a response body) can be collected while the worker
// waits for the next one.
func TestIdleWorkerHoldsNoJob(t *testing.T) {
	p := New(1, time.Hour)
	defer p.Close()
	done := make(chan struct{})
	held := func() weak.Pointer[[1 << 20]byte] {
		answer := new([1 << 20]byte)
		p.Go(jobFunc(func() { answer[0] = 1; close(done) }))
		return weak.Make(answer)
	}()
	waittest.Receive(t, done, "the job")
	waittest.Until(t, "the job's data is collected", func() bool {
		runtime.GC()
		return held.Value() == nil
	})
	if n := p.Live(); n != 1 {
		t.Errorf("%d workers, want the idle one", n)
	}
}

// Close ends every goroutine the pool started, its janitor included, so
// that a retired pool leaves nothing behind while the process runs on.
func TestCloseEndsEveryGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	p := New(4, time.Hour)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		p.Go(jobFunc(func() { defer wg.Done(); <-release }))
	}
	close(release)
	wg.Wait()
	if n := p.Live(); n != 4 {
		t.Fatalf("%d workers after 4 jobs in flight, want 4", n)
	}
	p.Close()
	waittest.Until(t, "the pool's goroutines have ended", func() bool { return runtime.NumGoroutine() <= before })
}
