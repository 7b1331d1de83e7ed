package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/auth"
	"github.com/manifoldgw/manifold/internal/launch"
)

// honestGateway is gateway.yaml for TestReloadHonesty: an upstream that
// echoes the X-Forwarded-For it got, API keys, a role every pipeline
// asks for, and extra lines for the server section and the consumers.
func honestGateway(upURL, server string, consumers ...string) string {
	y := fmt.Sprintf("upstreams:\n  up: {url: %q}\nauth:\n  api_key: {header: X-API-Key}\n", upURL)
	y += "audit: {nats: \"off\"}\ndefaults: {access: {roles: [buyer]}}\nserver: {" + server + "}\nconsumers:\n"
	for _, c := range consumers {
		y += fmt.Sprintf("  %s: {key_sha256: %q, roles: [buyer]}\n", c, auth.HashKey(c+"-key-0123456789"))
	}
	return y
}

// TestReloadHonesty edits gateway.yaml of a running gateway: a consumer
// added works at once and is not reported as needing a restart, nor are
// max_concurrent and trusted_proxies, which apply; a failed reload keeps
// the old consumers; a listener timeout is reported key by key.
func TestReloadHonesty(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"xff": r.Header.Get("X-Forwarded-For")})
	}))
	defer up.Close()
	g := serveOps(t, map[string]string{
		"gateway.yaml": honestGateway(up.URL, "max_concurrent: 64", "alice"),
		"p.yaml":       "name: p\npath: /p\nsteps:\n  s: {upstream: up, path: /}\noutput: .s\n",
	}, nil, launch.Options{})
	call := func(who string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, g.base+"/p", nil)
		req.Header.Set("X-API-Key", who+"-key-0123456789")
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct{ XFF string }
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &v)
		return resp.StatusCode, v.XFF
	}
	if st, xff := call("alice"); st != 200 || xff != "127.0.0.1" {
		t.Fatalf("before: alice %d, upstream saw X-Forwarded-For %q, want 200 and 127.0.0.1", st, xff)
	}
	if st, _ := call("bob"); st != 401 {
		t.Fatalf("before: bob %d, want 401", st)
	}

	at := g.reloadAt(t)
	writeFile(t, g.dir, "gateway.yaml", honestGateway(up.URL, "max_concurrent: 32, trusted_proxies: [127.0.0.1]", "alice", "bob"))
	st := g.nextReload(t, at)
	if !st.OK || len(st.RestartNeeded) != 0 {
		t.Errorf("reload adding bob, max_concurrent, trusted_proxies: %+v, want ok with no restart_needed", st)
	}
	if code, xff := call("bob"); code != 200 || xff != "203.0.113.9, 127.0.0.1" {
		t.Errorf("after: bob %d, upstream saw X-Forwarded-For %q, want 200 and the trusted chain", code, xff)
	}

	writeFile(t, g.dir, "gateway.yaml", honestGateway(up.URL, "max_concurrent: 32, trusted_proxies: [127.0.0.1], nope: 1", "alice", "bob", "carol"))
	st = g.nextReload(t, st.At)
	if st.OK || len(st.Errors) != 1 {
		t.Fatalf("broken reload: %+v, want one error", st)
	}
	if code, _ := call("carol"); code != 401 {
		t.Errorf("after a failed reload carol gets %d, want 401", code)
	}
	if code, _ := call("bob"); code != 200 {
		t.Errorf("after a failed reload bob gets %d, want 200", code)
	}

	writeFile(t, g.dir, "gateway.yaml", honestGateway(up.URL, "max_concurrent: 32, trusted_proxies: [127.0.0.1], read_timeout: 10s", "alice", "bob"))
	st = g.nextReload(t, st.At)
	if !st.OK || !slices.Equal(st.RestartNeeded, []string{"server.read_timeout"}) {
		t.Errorf("reload of read_timeout: %+v, want restart_needed [server.read_timeout]", st)
	}
}

// reloadStatus is the part of GET /reload these tests read.
type reloadStatus struct {
	OK            bool      `json:"ok"`
	At            time.Time `json:"at"`
	Errors        []string  `json:"errors"`
	RestartNeeded []string  `json:"restart_needed"`
}

func (g *opsGateway) reloadStatus(t *testing.T) reloadStatus {
	t.Helper()
	status, b := adminCall(t, http.MethodGet, g.admin+"/reload", opsKey, "")
	var st reloadStatus
	if err := json.Unmarshal(b, &st); status != 200 || err != nil {
		t.Fatalf("GET /reload: %d %v: %s", status, err, b)
	}
	return st
}

func (g *opsGateway) reloadAt(t *testing.T) time.Time { return g.reloadStatus(t).At }

// nextReload waits for the file watcher's reload after at.
func (g *opsGateway) nextReload(t *testing.T, at time.Time) reloadStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st := g.reloadStatus(t); st.At.After(at) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatal("no reload within 10s of the edit")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
