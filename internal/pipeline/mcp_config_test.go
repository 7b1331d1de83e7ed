package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// TestMCPConfig checks the defaults and checks of gateway.yaml's mcp
// block.
func TestMCPConfig(t *testing.T) {
	defaults := gateway.MCP{
		MaxSessions: 1000, MaxSessionsPerClient: 32,
		SessionTimeout: yamlconf.Duration(10 * time.Minute), InitTimeout: yamlconf.Duration(10 * time.Second),
		MaxInitializeBytes: 32 << 10, MaxClientString: 256,
	}
	cases := []struct {
		name, block string
		want        gateway.MCP
		err         string
	}{
		{"defaults", "", defaults, ""},
		{"set", "mcp: {max_sessions: 20, max_sessions_per_client: 5, session_timeout: 1m, init_timeout: 2s, max_initialize_bytes: 8KiB, max_client_string: 64}\n",
			gateway.MCP{MaxSessions: 20, MaxSessionsPerClient: 5, SessionTimeout: yamlconf.Duration(time.Minute), InitTimeout: yamlconf.Duration(2 * time.Second),
				MaxInitializeBytes: 8 << 10, MaxClientString: 64}, ""},
		{"per client follows a small total", "mcp: {max_sessions: 10}\n",
			gateway.MCP{MaxSessions: 10, MaxSessionsPerClient: 10, SessionTimeout: defaults.SessionTimeout, InitTimeout: defaults.InitTimeout,
				MaxInitializeBytes: defaults.MaxInitializeBytes, MaxClientString: defaults.MaxClientString}, ""},
		{"negative", "mcp: {max_sessions: -1}\n", gateway.MCP{}, "mcp.max_sessions: must not be negative"},
		{"per client over total", "mcp: {max_sessions: 4, max_sessions_per_client: 5}\n", gateway.MCP{}, "mcp.max_sessions_per_client: 5 is more than mcp.max_sessions (4)"},
		{"string over message", "mcp: {max_initialize_bytes: 100, max_client_string: 200}\n", gateway.MCP{}, "mcp.max_client_string: 200 is more than mcp.max_initialize_bytes (100)"},
		{"bad duration", "mcp: {init_timeout: soon}\n", gateway.MCP{}, `invalid duration "soon"`},
		{"unknown key", "mcp: {stateless: true}\n", gateway.MCP{}, `mcp.stateless: unknown key "stateless"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, err := loadGatewayBlock(c.block)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.Gateway.MCP; got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
