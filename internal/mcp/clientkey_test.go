package mcpserver

import (
	"testing"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// TestSessionsPerClientCountAnIPv6Slash64: one host may take any address
// of its /64, so mcp.max_sessions_per_client counts the /64.
func TestSessionsPerClientCountAnIPv6Slash64(t *testing.T) {
	var s sessions
	cfg := gateway.MCP{MaxSessions: 10, MaxSessionsPerClient: 2}
	for _, c := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2"} {
		if _, refused := s.admit(c, cfg); refused != "" {
			t.Fatalf("%s refused by %s", c, refused)
		}
	}
	if _, refused := s.admit("2001:db8:1:2:ffff::3", cfg); refused != RefusedSessionsPerClient {
		t.Fatalf("a third session from the same /64: refused by %q, want %s", refused, RefusedSessionsPerClient)
	}
	sl, refused := s.admit("2001:db8:1:3::1", cfg)
	if refused != "" {
		t.Fatalf("another /64 refused by %s", refused)
	}
	sl.settle()
	if s.count() != 2 || s.quota.Clients() != 1 {
		t.Errorf("after a settle: %d counted, %d clients; want 2, 1", s.count(), s.quota.Clients())
	}
}
