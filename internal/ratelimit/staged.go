package ratelimit

import (
	"net/http"
	"sync"

	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// staged is server.rate of the plan being swapped in, applied only when
// the whole swap succeeds: a reload that fails keeps the rate in force.
type staged struct {
	mu   sync.Mutex
	rt   *server.Runtime
	rate *yamlconf.Rate
}

var _ server.Staged = (*Limiter)(nil)

// Mount implements server.Surface: it stages server.rate of rt's plan.
func (l *Limiter) Mount(_ *http.ServeMux, _ *server.Server, rt *server.Runtime) error {
	l.staged.mu.Lock()
	defer l.staged.mu.Unlock()
	l.staged.rt, l.staged.rate = rt, rt.Plan.Gateway.Server.Rate
	return nil
}

// Commit implements server.Staged: the staged rate applies from the next
// call on, keeping the bucket while the rate is unchanged.
func (l *Limiter) Commit(rt *server.Runtime) {
	l.staged.mu.Lock()
	defer l.staged.mu.Unlock()
	if l.staged.rt == rt {
		l.setGlobal(l.staged.rate)
	}
	l.staged.rt, l.staged.rate = nil, nil
}

// Discard implements server.Staged.
func (l *Limiter) Discard(*server.Runtime) {
	l.staged.mu.Lock()
	defer l.staged.mu.Unlock()
	l.staged.rt, l.staged.rate = nil, nil
}
