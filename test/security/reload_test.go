package security

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestKeysFollowReload: a consumer added to gateway.yaml is let in after a
// reload, without a restart, and a removed one is shut out.
func TestKeysFollowReload(t *testing.T) {
	backend := newRecorder(t)
	dir := t.TempDir()
	gateway := func(consumer string) string {
		return "audit: {nats: \"off\"}\nupstreams:\n  b: {url: " + backend.srv.URL + "}\n" +
			"defaults: {access: {roles: [reader]}}\nconsumers:\n  " + consumer + ": {key_sha256: " + hash(consumer+"-key") + ", roles: [reader]}\n"
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("gateway.yaml", gateway("alice"))
	write("p.yaml", "name: p\npath: /p\nsteps:\n  s: {upstream: b, path: /}\n")
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reload := make(chan struct{}, 1)
	base, _ := serve(t, plan, launch.Options{Dir: dir, Reload: reload})
	status := func(key string) int { return do(t, request(t, "GET", base+"/p", "", "X-API-Key", key)).status }
	if got := status("alice-key"); got != 200 {
		t.Fatalf("alice before the reload: %d", got)
	}
	write("gateway.yaml", gateway("bob"))
	reload <- struct{}{}
	deadline := time.Now().Add(10 * time.Second)
	for status("bob-key") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("bob's key is still refused 10s after the reload")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := status("alice-key"); got != 401 {
		t.Errorf("alice after her removal: %d, want 401", got)
	}
}
