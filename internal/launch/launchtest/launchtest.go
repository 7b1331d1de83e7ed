// Package launchtest starts gateways for tests, as `manifold serve` does,
// on ephemeral loopback ports, and stops them when the test ends.
package launchtest

import (
	"context"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Serve runs launch.Serve for plan on 127.0.0.1:0 until t ends, and
// returns the gateway's base URL and, when the admin API is on, the admin
// listener's. A gateway that does not start within 15s, or fails to stop,
// fails t. opts.Listen, Ready and AdminReady are set by Serve.
func Serve(t testing.TB, plan *pipeline.Plan, opts launch.Options) (base, admin string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr, adminAddr, done := make(chan string, 1), make(chan string, 1), make(chan error, 1)
	opts.Listen = "127.0.0.1:0"
	opts.Ready = func(a string) { addr <- a }
	opts.AdminReady = func(a string) { adminAddr <- a }
	go func() { done <- launch.Serve(ctx, plan, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("the gateway did not start within 15s")
	}
	select {
	case a := <-adminAddr:
		admin = "http://" + a
	default:
	}
	return base, admin
}
