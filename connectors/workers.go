package connectors

import (
	"cmp"
	"sync"
	"time"
)

// workerIdle is how long a worker may wait for a job before it ends, once
// another worker parks after it.
const workerIdle = 30 * time.Second

// workers runs the coalescer's shared calls, which belong to no caller and
// so need a goroutine of their own. A fresh goroutine per call starts on a
// small stack and grows it two or three times through the stack (breaker,
// bulkhead, timeout, net/http), copying it each time: about a tenth of the
// gateway's CPU in the fan-out profile. A worker keeps its grown stack from
// one call to the next. The pool is bounded: past max busy workers, or
// once closed, a call gets a goroutine of its own as before. After a burst
// it shrinks back as calls go on (see park); with no calls at all, its
// idle workers wait until Close, their stacks shrunk by the GC.
type workers struct {
	max int

	mu     sync.Mutex
	idle   []*worker // the last parked first: its stack is the warmest
	count  int       // live workers, busy or idle
	closed bool
}

// newWorkers sizes an upstream's pool as its connection pool: as many
// workers as it keeps idle connections.
func newWorkers(cfg Config) *workers {
	return &workers{max: cmp.Or(max(cfg.Concurrency, 0), DefaultIdleConns)}
}

// job is what a worker runs.
type job interface{ run() }

// worker is one long-lived goroutine, waiting on jobs while idle.
type worker struct {
	jobs   chan job // closed: the worker ends
	parked time.Time
}

// run runs job on an idle worker, a new one, or a goroutine of its own.
func (p *workers) run(j job) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
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

// loop runs jobs until the worker is retired.
func (p *workers) loop(w *worker, j job) {
	for j != nil {
		j.run()
		if !p.park(w) {
			return
		}
		j = <-w.jobs // nil once closed
	}
}

// park puts w back among the idle workers, unless the pool is closed, and
// retires the one idle the longest if it has waited past workerIdle: the
// pool shrinks back after a burst, one worker per call.
func (p *workers) park(w *worker) bool {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.count--
		return false
	}
	if len(p.idle) > 0 && now.Sub(p.idle[0].parked) > workerIdle {
		close(p.idle[0].jobs)
		p.idle = append(p.idle[:0], p.idle[1:]...)
		p.count--
	}
	w.parked = now
	p.idle = append(p.idle, w)
	return true
}

// close ends the idle workers; busy ones end after their job.
func (p *workers) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, w := range p.idle {
		close(w.jobs)
	}
	p.count -= len(p.idle)
	p.idle = nil
}
