// Package workers keeps long-lived goroutines for work that would
// otherwise start a goroutine per job.
//
// A fresh goroutine starts on a small stack and, on the gateway's deep
// call paths (breaker, bulkhead, timeout, net/http, a cache key's SHA-256),
// grows it two or three times, copying it each time. A worker keeps its
// grown stack from one job to the next.
package workers

import (
	"slices"
	"sync"
	"time"
)

// Idle is how long a worker of a pool made by New waits for a job before
// it ends.
const Idle = 30 * time.Second

// Job is what a worker runs.
type Job interface{ Run() }

// Pool runs jobs on its workers. It is bounded: past max busy workers, or
// once closed, a job gets a goroutine of its own. A worker that has waited
// idle for the pool's idle time ends, so the pool shrinks back after a
// burst, as an idle connection pool does. The zero Pool is not usable:
// see New.
type Pool struct {
	max  int
	idle time.Duration

	mu      sync.Mutex
	waiting []*worker // idle, the last parked first: its stack is the warmest
	count   int       // live workers, busy or idle
	closed  bool
}

// New returns a pool of at most size workers (at least 1), each ending
// after idle without a job (0: Idle).
func New(size int, idle time.Duration) *Pool {
	if idle <= 0 {
		idle = Idle
	}
	return &Pool{max: max(size, 1), idle: idle}
}

// worker is one long-lived goroutine, waiting on jobs while idle.
type worker struct {
	jobs chan Job // closed: the worker ends
}

// Go runs j on an idle worker, a new one, or a goroutine of its own. It
// never waits.
func (p *Pool) Go(j Job) {
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
		go j.Run()
		return
	}
	p.count++
	p.mu.Unlock()
	go p.loop(&worker{jobs: make(chan Job, 1)}, j)
}

// loop runs jobs until the worker has waited idle too long or the pool is
// closed.
func (p *Pool) loop(w *worker, j Job) {
	var idle *time.Timer
	for j != nil {
		j.Run()
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
func (p *Pool) park(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.count--
		return false
	}
	p.waiting = append(p.waiting, w)
	return true
}

// retire ends w, idle too long, unless Go has just taken it.
func (p *Pool) retire(w *worker) bool {
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

// Close ends the idle workers; busy ones end after their job. Jobs given
// to a closed pool run on goroutines of their own.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, w := range p.waiting {
		close(w.jobs)
	}
	p.count -= len(p.waiting)
	p.waiting = nil
}

// Live is the number of the pool's workers, busy or idle.
func (p *Pool) Live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}
