package graphqlview

import (
	"testing"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// TestSubscriptionsPerClientCountAnIPv6Slash64: one host may take any
// address of its /64, so max_subscriptions_per_client counts the /64.
func TestSubscriptionsPerClientCountAnIPv6Slash64(t *testing.T) {
	var subs subscriptions
	cfg := gateway.GraphQL{MaxSubscriptions: 10, MaxSubscriptionsPerClient: 2}
	for _, c := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2"} {
		if _, refused := subs.acquire(c, cfg); refused != "" {
			t.Fatalf("%s refused by %s", c, refused)
		}
	}
	if _, refused := subs.acquire("2001:db8:1:2:ffff::3", cfg); refused != RefusedClientSubs {
		t.Fatalf("a third subscription from the same /64: refused by %q, want %s", refused, RefusedClientSubs)
	}
	release, refused := subs.acquire("2001:db8:1:3::1", cfg)
	if refused != "" {
		t.Fatalf("another /64 refused by %s", refused)
	}
	release()
	if subs.Open() != 2 || subs.q.Clients() != 1 {
		t.Errorf("after a release: %d open, %d clients; want 2, 1", subs.Open(), subs.q.Clients())
	}
}
