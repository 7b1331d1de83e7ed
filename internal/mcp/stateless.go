package mcpserver

import (
	"net/http"
	"strconv"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
)

// admitRequest admits one request of a stateless Surface. Each POST is a
// session the SDK makes for that request alone, so mcp.max_sessions and
// mcp.max_sessions_per_client bound the MCP requests in flight, in all
// and per client address. When ok is false the refusal has been written;
// otherwise release must be called once the request has been served.
func (s *Surface) admitRequest(w http.ResponseWriter, cfg gateway.MCP, client string) (release func(), ok bool) {
	release, over := s.sessions.quota.Take(client, cfg.MaxSessions, cfg.MaxSessionsPerClient)
	switch over {
	case server.OverTotal:
		s.opts.Refusals.Add(RefusedSessions)
		p := problem.New("too-many-sessions", http.StatusServiceUnavailable,
			"the gateway serves as many MCP requests at once as mcp.max_sessions ("+strconv.Itoa(cfg.MaxSessions)+
				") allows (stateless MCP: each request is a session of its own); retry later")
		p.RetryAfter = 1
		problem.Write(w, p)
		return nil, false
	case server.OverClient:
		s.opts.Refusals.Add(RefusedSessionsPerClient)
		p := problem.New("too-many-sessions", http.StatusTooManyRequests,
			"this client has as many MCP requests in flight as mcp.max_sessions_per_client ("+strconv.Itoa(cfg.MaxSessionsPerClient)+
				") allows (stateless MCP: each request is a session of its own); retry later")
		p.RetryAfter = 1
		problem.Write(w, p)
		return nil, false
	}
	return release, true
}
