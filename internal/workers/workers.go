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

// Idle is how long a worker waits for a job, at least, before it ends (at
// most twice that), unless New is given another time.
const Idle = 30 * time.Second

// Job is what a worker runs.
type Job interface{ Run() }

// Pool runs jobs on its workers. It is bounded: past max busy workers, or
// once closed, a job gets a goroutine of its own. A worker that has waited
// idle for the pool's idle time (up to twice that) ends, so the pool
// shrinks back after a burst, as an idle connection pool does. One
// janitor goroutine, running while the pool has workers, ends them: a
// worker itself arms no timer between jobs. The zero Pool is not usable:
// see New.
type Pool struct {
	max  int
	idle time.Duration

	mu       sync.Mutex
	waiting  []*worker // idle, the last parked first: its stack is the warmest
	count    int       // live workers, busy or idle
	rounds   uint64    // the janitor's, since the pool began
	sweeping bool      // the janitor runs
	closed   bool
	stop     chan struct{} // closed by Close: the janitor ends
}

// New returns a pool of at most size workers (at least 1), each ending
// after idle to twice idle without a job (idle 0: Idle).
func New(size int, idle time.Duration) *Pool {
	if idle <= 0 {
		idle = Idle
	}
	return &Pool{max: max(size, 1), idle: idle, stop: make(chan struct{})}
}

// worker is one long-lived goroutine, waiting on jobs while idle.
type worker struct {
	jobs   chan Job // closed: the worker ends
	parked uint64   // the janitor's round when it last parked
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
	if !p.sweeping {
		p.sweeping = true
		go p.sweep()
	}
	p.mu.Unlock()
	go p.loop(&worker{jobs: make(chan Job, 1)}, j)
}

// loop runs jobs until the janitor or Close ends the worker.
func (p *Pool) loop(w *worker, j Job) {
	for j != nil {
		j.Run()
		if !p.park(w) {
			return
		}
		j = <-w.jobs // nil once closed
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
	w.parked = p.rounds
	p.waiting = append(p.waiting, w)
	return true
}

// sweep is the janitor: every idle, it ends the workers that have been
// parked since before its previous round, so idle at least that long. It
// stops once the pool has no workers or is closed.
func (p *Pool) sweep() {
	t := time.NewTicker(p.idle)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if !p.retire() {
				return
			}
		case <-p.stop:
			return
		}
	}
}

// retire ends the workers idle for a whole round, and says whether the
// janitor goes on.
func (p *Pool) retire() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rounds++
	// Parked in order: the longest idle are first.
	n := 0
	for n < len(p.waiting) && p.waiting[n].parked+1 < p.rounds {
		close(p.waiting[n].jobs)
		n++
	}
	p.waiting = slices.Delete(p.waiting, 0, n)
	p.count -= n
	if p.closed || p.count == 0 {
		p.sweeping = false
		return false
	}
	return true
}

// Close ends the idle workers; busy ones end after their job. Jobs given
// to a closed pool run on goroutines of their own.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	close(p.stop)
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
