package connectors

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// workerIdle is how long a worker waits for a job before it ends.
const workerIdle = 30 * time.Second

// workers runs the coalescer's shared calls, which belong to no caller and
// so need a goroutine of their own. A fresh goroutine per call starts on a
// small stack and grows it two or three times through the stack (breaker,
// bulkhead, timeout, net/http), copying it each time: about a tenth of the
// gateway's CPU in the fan-out profile. A worker keeps its grown stack from
// one call to the next. The pool is bounded: past max busy workers, or
// once closed, a call gets a goroutine of its own as before. A worker that
// has waited idle for idle ends, so the pool shrinks back after a burst, as
// an idle connection pool does.
type workers struct {
	max  int
	idle time.Duration

	mu      sync.Mutex
	waiting []*worker // idle, the last parked first: its stack is the warmest
	count   int       // live workers, busy or idle
	closed  bool
}

// newWorkers sizes an upstream's pool as its connection pool: as many
// workers as it keeps idle connections.
func newWorkers(cfg Config) *workers {
	return &workers{max: cmp.Or(max(cfg.Concurrency, 0), DefaultIdleConns), idle: workerIdle}
}

// job is what a worker runs.
type job interface{ run() }

// worker is one long-lived goroutine, waiting on jobs while idle.
type worker struct {
	jobs chan job // closed: the worker ends
}

// run runs job on an idle worker, a new one, or a goroutine of its own.
func (p *workers) run(j job) {
	p.mu.Lock()
	if n := len(p.waiting); n > 0 {
		w := p.waiting[n-1]
		p.waiting[n-1] = nil
		p.waiting = p.waiting[:n-1]
		p.mu.Unlock()
		w.jobs <- j // buffered: never blocks
		return
	}
	if p.closed || p.count >= p.max {
		p.mu.Unlock()
		go j.run()
		return
	}
	p.count++
	p.mu.Unlock()
	go p.loop(&worker{jobs: make(chan job, 1)}, j)
}

// loop runs jobs until the worker has waited idle too long or the pool is
// closed.
func (p *workers) loop(w *worker, j job) {
	var idle *time.Timer
	for j != nil {
		j.run()
		if !p.park(w) {
			return
		}
		if idle == nil {
			idle = time.NewTimer(p.idle)
			defer idle.Stop()
		} else {
			idle.Reset(p.idle)
		}
		select {
		case j = <-w.jobs: // nil once closed
		case <-idle.C:
			if p.retire(w) {
				return
			}
			j = <-w.jobs // taken meanwhile: its job is on the way
		}
	}
}

// park puts w back among the idle workers, unless the pool is closed.
func (p *workers) park(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.count--
		return false
	}
	p.waiting = append(p.waiting, w)
	return true
}

// retire ends w, idle too long, unless run has just taken it.
func (p *workers) retire(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.Index(p.waiting, w)
	if i < 0 {
		return false
	}
	p.waiting = slices.Delete(p.waiting, i, i+1)
	p.count--
	return true
}

// close ends the idle workers; busy ones end after their job.
func (p *workers) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, w := range p.waiting {
		close(w.jobs)
	}
	p.count -= len(p.waiting)
	p.waiting = nil
}
