package gateway

import (
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// MCP endpoint defaults (gateway.yaml `mcp:`).
const (
	DefaultMCPMaxSessions          = 1000
	DefaultMCPMaxClientSessions    = 32
	DefaultMCPSessionTimeout       = 10 * time.Minute
	DefaultMCPInitTimeout          = 10 * time.Second
	DefaultMCPMaxInitializeBytes   = 32 << 10
	DefaultMCPMaxClientStringBytes = 256
)

// MCP bounds the MCP endpoint at /mcp. A session costs memory and
// goroutines for as long as it lives, and anyone may open one, so their
// number, their life and what a client may make them keep are bounded.
type MCP struct {
	// MaxSessions caps the sessions open at once, and
	// MaxSessionsPerClient those opened from one client address; past
	// either, a new session is refused (503 / 429).
	MaxSessions          int `yaml:"max_sessions"`
	MaxSessionsPerClient int `yaml:"max_sessions_per_client"`
	// SessionTimeout closes a session that has had no request for this
	// long. It is read when the gateway starts: a reload keeps the first.
	SessionTimeout yamlconf.Duration `yaml:"session_timeout"`
	// InitTimeout closes a session whose client has not sent
	// notifications/initialized this long after initialize.
	InitTimeout yamlconf.Duration `yaml:"init_timeout"`
	// MaxInitializeBytes caps the body of a request that opens a session
	// (initialize): it is small, and the session keeps what it says.
	MaxInitializeBytes yamlconf.Size `yaml:"max_initialize_bytes"`
	// MaxClientString caps each string a client makes a session keep:
	// clientInfo's name, title, version, description and websiteUrl, the
	// protocol version it asks for, the logging level it sets.
	MaxClientString yamlconf.Size `yaml:"max_client_string"`
}

func applyMCPDefaults(m *MCP) {
	if m.MaxSessions == 0 {
		m.MaxSessions = DefaultMCPMaxSessions
	}
	if m.MaxSessionsPerClient == 0 {
		m.MaxSessionsPerClient = min(DefaultMCPMaxClientSessions, m.MaxSessions)
	}
	if m.SessionTimeout == 0 {
		m.SessionTimeout = yamlconf.Duration(DefaultMCPSessionTimeout)
	}
	if m.InitTimeout == 0 {
		m.InitTimeout = yamlconf.Duration(DefaultMCPInitTimeout)
	}
	if m.MaxInitializeBytes == 0 {
		m.MaxInitializeBytes = DefaultMCPMaxInitializeBytes
	}
	if m.MaxClientString == 0 {
		m.MaxClientString = DefaultMCPMaxClientStringBytes
	}
}

func (l *loader) validateMCP(d *yamlconf.Doc, m MCP, at func(keys ...string) ast.Node) {
	// Sizes cannot be negative: their parser refuses a sign.
	if m.MaxSessions < 0 {
		l.Errorf(d.File, at("mcp", "max_sessions"), "mcp.max_sessions", "must not be negative")
	}
	if m.MaxSessionsPerClient < 0 {
		l.Errorf(d.File, at("mcp", "max_sessions_per_client"), "mcp.max_sessions_per_client", "must not be negative")
	}
	if m.MaxSessions > 0 && m.MaxSessionsPerClient > m.MaxSessions {
		l.Errorf(d.File, at("mcp", "max_sessions_per_client"), "mcp.max_sessions_per_client",
			"%d is more than mcp.max_sessions (%d)", m.MaxSessionsPerClient, m.MaxSessions)
	}
	if m.MaxClientString > m.MaxInitializeBytes {
		l.Errorf(d.File, at("mcp", "max_client_string"), "mcp.max_client_string",
			"%d is more than mcp.max_initialize_bytes (%d)", m.MaxClientString, m.MaxInitializeBytes)
	}
}
