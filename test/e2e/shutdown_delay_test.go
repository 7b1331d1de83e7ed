package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestShutdownDelayShowsDraining: with a shutdown delay, a stopping
// gateway keeps serving while /readyz answers 503 "draining", so a load
// balancer can take it out before the listener closes.
func TestShutdownDelayShowsDraining(t *testing.T) {
	up := newCounting(t, `{"v":1}`)
	dir := t.TempDir()
	for name, content := range map[string]string{
		"gateway.yaml": fmt.Sprintf("audit: {nats: \"off\"}\nupstreams:\n  up: {url: %q}\n", up.URL),
		"p.yaml":       "name: p\npath: /p\nsteps:\n  s: {upstream: up, path: /}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- launch.Serve(ctx, plan, launch.Options{Listen: "127.0.0.1:0", ShutdownDelay: time.Second,
			Ready: func(a string) { addr <- a }})
	}()
	base := "http://" + <-addr
	if status, _, _ := fetch(t, base+"/readyz"); status != 200 {
		t.Fatalf("/readyz = %d before shutdown", status)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("the listener closed before /readyz reported draining: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never reported draining")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if status, _, body := fetch(t, base+"/p"); status != 200 {
		t.Errorf("during the delay a request got %d %s, want it served", status, body)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
