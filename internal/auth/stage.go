package auth

import (
	"context"
	"fmt"
	"net/http"

	"github.com/manifoldgw/manifold/internal/server"
)

// staged is the state prepared for one Runtime.
type staged struct {
	rt *server.Runtime
	st *state
}

// Mount implements server.Surface: it prepares the auth and consumers of
// rt's plan without switching to them; the server commits them once every
// surface has mounted (server.Staged), so that a reload that fails later
// leaves the callers' auth as it was.
func (a *Authenticator) Mount(_ *http.ServeMux, _ *server.Server, rt *server.Runtime) error {
	gw := rt.Plan.Gateway
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropPending()
	old := a.cur.Load()
	if old != nil && old.fingerprint == fingerprint(gw.Auth, gw.Consumers) {
		return nil
	}
	st, err := build(context.Background(), gw.Auth, gw.Consumers, old, a.opts)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	a.pending = &staged{rt: rt, st: st}
	return nil
}

// Commit implements server.Staged: it switches to the state Mount
// prepared for rt and closes the one it replaces.
func (a *Authenticator) Commit(rt *server.Runtime) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pending
	if p == nil || p.rt != rt {
		a.dropPending()
		return
	}
	a.pending = nil
	if old := a.cur.Swap(p.st); old != nil {
		old.close()
	}
}

// Discard implements server.Staged: it drops what Mount prepared.
func (a *Authenticator) Discard(*server.Runtime) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dropPending()
}

// dropPending closes a prepared state never switched to; a.mu is held.
func (a *Authenticator) dropPending() {
	if a.pending != nil {
		a.pending.st.close()
		a.pending = nil
	}
}
