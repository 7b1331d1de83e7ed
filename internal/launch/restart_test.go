package launch

import (
	"slices"
	"testing"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// TestRestartNeededKeys: what a reload applies is never listed; what it
// cannot apply is listed key by key.
func TestRestartNeededKeys(t *testing.T) {
	cases := []struct {
		name   string
		change func(*gateway.Config)
		want   []string
	}{
		{"consumers and auth apply", func(g *gateway.Config) {
			g.Consumers = map[string]*gateway.Consumer{"c": {KeySHA256: "ab"}}
			g.Auth.APIKey = &gateway.APIKeyAuth{Header: "X-Key"}
		}, nil},
		{"bounds and proxies apply", func(g *gateway.Config) {
			g.Server.MaxConcurrent, g.Server.MaxStreams, g.Server.MaxStreamsPerClient = 7, 8, 9
			g.Server.TrustedProxies = []string{"10.0.0.0/8"}
			g.Server.Rate = &yamlconf.Rate{Count: 1, Per: 1e9, Burst: 1}
		}, nil},
		{"listener limits, TLS and CORS need a restart", func(g *gateway.Config) {
			g.Server.TLS = &gateway.TLS{Cert: "c.pem", Key: "k.pem"}
			g.Server.ReadHeaderTimeout, g.Server.ReadTimeout = 1e9, 2e9
			g.Server.WriteTimeout, g.Server.IdleTimeout = 3e9, 4e9
			g.Server.MaxHeaderBytes = 1024
			g.Server.CORS = &gateway.CORS{Origins: []string{"*"}}
		}, []string{"server.tls", "server.read_header_timeout", "server.read_timeout", "server.write_timeout",
			"server.idle_timeout", "server.max_header_bytes", "server.cors"}},
		{"audit and admin", func(g *gateway.Config) {
			g.Audit.NATS = "nats://x:4222"
			g.Admin.Listen = "127.0.0.1:1"
			g.MCP.SessionTimeout = 1e9
		}, []string{"admin.listen", "audit.nats", "mcp.session_timeout"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next := &gateway.Config{}
			c.change(next)
			if got := restartNeeded(&gateway.Config{}, next); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}
