package security

import (
	"fmt"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/launch"
)

// TestCredentialGuessingIsCut is the attack of one anonymous client
// guessing API keys through the running gateway: after
// auth.max_failures refused keys it is answered 429 problem+json with
// Retry-After, even when it then sends the right key.
func TestCredentialGuessingIsCut(t *testing.T) {
	up := newRecorder(t)
	plan := loadFiles(t, map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  up: {url: %q}\nauth: {max_failures: 3/min}\nconsumers:\n  shop: {key_sha256: %s}\naudit: {nats: \"off\"}\n",
			up.srv.URL, hash("the-right-key")),
		"p.yaml": "name: p\npath: /p\naccess: {roles: []}\nsteps:\n  s: {upstream: up, path: /x}\n",
	})
	base, _ := serve(t, plan, launch.Options{})
	if a := do(t, request(t, "GET", base+"/p", "", "X-API-Key", "the-right-key")); a.status != 200 {
		t.Fatalf("the right key before any guess: %d %s", a.status, a.body)
	}
	for i := range 3 {
		if a := do(t, request(t, "GET", base+"/p", "", "X-API-Key", fmt.Sprintf("guess-%d", i))); a.status != 401 {
			t.Fatalf("guess %d: %d %s, want 401", i+1, a.status, a.body)
		}
	}
	for _, key := range []string{"guess-3", "the-right-key"} {
		a := do(t, request(t, "GET", base+"/p", "", "X-API-Key", key))
		if a.status != 429 || a.problemType() != "rate-limited" || a.header.Get("Retry-After") == "" ||
			!strings.Contains(string(a.body), "auth.max_failures allows 3/min") {
			t.Errorf("%s over the budget: %d %v %s; want a 429 rate-limited problem naming auth.max_failures, with Retry-After", key, a.status, a.header, a.body)
		}
	}
}
