package mcpserver

import (
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/server"
)

// Names under which MCP refusals are counted (refusal.Counts): the
// gateway.yaml keys of the bounds.
const (
	RefusedSessions          = "mcp.max_sessions"
	RefusedSessionsPerClient = "mcp.max_sessions_per_client"
	RefusedInitializeBytes   = "mcp.max_initialize_bytes"
	RefusedClientString      = "mcp.max_client_string"
)

// sessions counts MCP sessions, in all and per client address, from the
// request that opens one (a POST without Mcp-Session-Id) until the session
// ends. The SDK keeps its sessions to itself, so the count rides beside it:
// a slot is taken when the opening request arrives and handed to the
// session its initialize creates, or given back when the request ends
// without one (the SDK closes such sessions at once).
type sessions struct {
	quota server.Quota
	mu    sync.Mutex
	open  map[string]*session // by session ID, once initialize succeeded
}

// session is one counted session the SDK keeps.
type session struct {
	id      string
	release func()      // gives the slot back
	init    *time.Timer // closes the session unless notifications/initialized comes first
	once    sync.Once
}

// slot is the place of one session-opening request.
type slot struct {
	release func() // gives the slot back

	mu    sync.Mutex
	state slotState
}

type slotState int

const (
	slotPending  slotState = iota // the opening request is being served
	slotKept                      // a session holds it until it ends
	slotReleased                  // given back
)

// admit takes a slot for a session opened by client, or names the bound
// that refuses it.
func (s *sessions) admit(client string, cfg gateway.MCP) (*slot, string) {
	release, over := s.quota.Take(client, cfg.MaxSessions, cfg.MaxSessionsPerClient)
	switch over {
	case server.OverTotal:
		return nil, RefusedSessions
	case server.OverClient:
		return nil, RefusedSessionsPerClient
	}
	return &slot{release: release}, ""
}

// claim hands the slot to the session being initialized. It fails when
// the opening request already ended and gave the slot back.
func (sl *slot) claim() bool {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if sl.state != slotPending {
		return false
	}
	sl.state = slotKept
	return true
}

// settle gives the slot back unless a session claimed it: call it when
// the opening request has been served.
func (sl *slot) settle() {
	sl.mu.Lock()
	pending := sl.state == slotPending
	if pending {
		sl.state = slotReleased
	}
	sl.mu.Unlock()
	if pending {
		sl.release()
	}
}

// keep counts ss, whose initialize claimed sl, until it ends; it is
// closed if its client does not confirm with notifications/initialized
// within initTimeout. Call it before initialize is answered, so that the
// notification cannot come before the session is known.
func (s *sessions) keep(ss *mcp.ServerSession, sl *slot, initTimeout time.Duration) {
	e := &session{id: ss.ID(), release: sl.release}
	s.mu.Lock()
	if s.open == nil {
		s.open = map[string]*session{}
	}
	e.init = time.AfterFunc(initTimeout, func() {
		_ = ss.Close()
		s.end(e)
	})
	s.open[e.id] = e
	s.mu.Unlock()
	// Wait is the SDK's only word that a session ended (idle timeout,
	// client gone, shutdown).
	go func() {
		_ = ss.Wait()
		s.end(e)
	}()
}

// end forgets the session e and gives its slot back, once.
func (s *sessions) end(e *session) {
	e.once.Do(func() {
		s.mu.Lock()
		e.init.Stop()
		if s.open[e.id] == e {
			delete(s.open, e.id)
		}
		s.mu.Unlock()
		e.release()
	})
}

// ended is called once the SDK has closed the session id on its client's
// DELETE: the slot comes back before the answer, so that a client may
// open its next session at once.
func (s *sessions) ended(id string) {
	s.mu.Lock()
	e := s.open[id]
	s.mu.Unlock()
	if e != nil {
		s.end(e)
	}
}

// initialized stops the init timeout of the session id.
func (s *sessions) initialized(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.open[id]; e != nil {
		e.init.Stop()
	}
}

// known reports whether id is a session that initialized and has not ended.
func (s *sessions) known(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.open[id]
	return ok
}

// count returns the sessions counted now, opening requests included.
func (s *sessions) count() int { return s.quota.Held() }
