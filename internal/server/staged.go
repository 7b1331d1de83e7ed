package server

import (
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
)

// Staged is a Surface whose state outlives a Runtime (the callers' auth,
// the trusted proxies). Its Mount only prepares the state for rt; Swap
// calls Commit once every surface has mounted, or Discard if one failed,
// so that a failed reload leaves a Staged surface as it was.
type Staged interface {
	Surface
	// Commit switches to the state prepared for rt.
	Commit(rt *Runtime)
	// Discard drops the state prepared for rt, if any.
	Discard(rt *Runtime)
}

// Proxies finds a request's client address and builds the X-Forwarded-*
// headers sent upstream (see ClientIP and Via) from server.trusted_proxies
// of the plan being served: a reload that changes the list applies to the
// next request. Mount it as a Surface.
type Proxies struct {
	cur     atomic.Pointer[proxies]
	mu      sync.Mutex // guards pending
	pending *proxies
}

// proxies are the functions built from one trusted_proxies list.
type proxies struct {
	rt       *Runtime // the Runtime they were staged for (nil at start)
	trusted  []string
	clientIP func(*http.Request) string
	via      func(*http.Request) http.Header
}

var _ Staged = (*Proxies)(nil)

// NewProxies returns Proxies trusting trusted until a plan is mounted.
func NewProxies(trusted []string) (*Proxies, error) {
	p, err := newProxies(trusted)
	if err != nil {
		return nil, err
	}
	ps := &Proxies{}
	ps.cur.Store(p)
	return ps, nil
}

func newProxies(trusted []string) (*proxies, error) {
	clientIP, err := ClientIP(trusted)
	if err != nil {
		return nil, err
	}
	via, err := Via(trusted)
	if err != nil {
		return nil, err
	}
	return &proxies{trusted: slices.Clone(trusted), clientIP: clientIP, via: via}, nil
}

// ClientIP returns r's client address under the trusted proxies in force.
func (ps *Proxies) ClientIP(r *http.Request) string { return ps.cur.Load().clientIP(r) }

// Via returns the X-Forwarded-* headers for r under the trusted proxies
// in force.
func (ps *Proxies) Via(r *http.Request) http.Header { return ps.cur.Load().via(r) }

// Mount implements Surface: it prepares rt's trusted_proxies.
func (ps *Proxies) Mount(_ *http.ServeMux, _ *Server, rt *Runtime) error {
	trusted := rt.Plan.Gateway.Server.TrustedProxies
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.pending = nil
	if slices.Equal(ps.cur.Load().trusted, trusted) {
		return nil
	}
	p, err := newProxies(trusted)
	if err != nil {
		return err
	}
	p.rt = rt
	ps.pending = p
	return nil
}

// Commit implements Staged.
func (ps *Proxies) Commit(rt *Runtime) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.pending != nil && ps.pending.rt == rt {
		ps.cur.Store(ps.pending)
	}
	ps.pending = nil
}

// Discard implements Staged.
func (ps *Proxies) Discard(*Runtime) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.pending = nil
}
