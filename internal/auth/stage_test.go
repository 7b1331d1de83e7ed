package auth

import (
	"errors"
	"net/http"
	"testing"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// failingSurface refuses to mount once fail is set.
type failingSurface struct{ fail bool }

func (f *failingSurface) Mount(*http.ServeMux, *server.Server, *server.Runtime) error {
	if f.fail {
		return errors.New("surface broken")
	}
	return nil
}

func runtimeOf(gw *gateway.Config) *server.Runtime {
	return &server.Runtime{Plan: &pipeline.Plan{Gateway: gw}}
}

// TestFailedSwapKeepsAuth: auth mounts first, so it only prepares the new
// consumers; a later surface failing the swap leaves the old ones in force,
// and a swap that succeeds switches at once.
func TestFailedSwapKeepsAuth(t *testing.T) {
	a := newAuth(t, apiKeyGateway(), Options{})
	broken := &failingSurface{}
	srv := server.New(runtimeOf(apiKeyGateway()), server.Options{Auth: a, Surfaces: []server.Surface{a, broken}})
	next := apiKeyGateway()
	next.Consumers["ops"] = &gateway.Consumer{KeySHA256: HashKey("ops-key"), Roles: []string{"ops"}}

	broken.fail = true
	before := a.cur.Load()
	if err := srv.Swap(runtimeOf(next)); err == nil {
		t.Fatal("the swap with a broken surface succeeded")
	}
	if id, err := a.Authenticate(withKey("ops-key")); id != nil || err == nil {
		t.Errorf("after a failed swap the new consumer is live: %+v, %v", id, err)
	}
	if a.cur.Load() != before || a.pending != nil {
		t.Error("a failed swap changed or left behind auth state")
	}

	broken.fail = false
	if err := srv.Swap(runtimeOf(next)); err != nil {
		t.Fatal(err)
	}
	if id, err := a.Authenticate(withKey("ops-key")); err != nil || id == nil || id.Name != "ops" {
		t.Errorf("after the swap: %+v, %v; want ops", id, err)
	}
}
