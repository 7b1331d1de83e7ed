package mcpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// sessionHeader names the session a request belongs to; a POST without
// it opens a session.
const sessionHeader = "Mcp-Session-Id"

const methodInitialize = "initialize"

// sessionsRetryAfter is the Retry-After of a refused session, in seconds:
// a session that never confirmed its initialize is gone by then with the
// default mcp.init_timeout.
const sessionsRetryAfter = 10

// opensSession reports whether r would open a session: the SDK creates
// one for every POST without a session ID.
func opensSession(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get(sessionHeader) == ""
}

// limits returns the MCP bounds of the plan sv serves; the defaults when
// there is none (a caller the SDK made up).
func limits(sv *served) gateway.MCP {
	if sv == nil || sv.plan == nil {
		return gateway.MCP{
			MaxClientString: gateway.DefaultMCPMaxClientStringBytes,
			InitTimeout:     yamlconf.Duration(gateway.DefaultMCPInitTimeout),
		}
	}
	return sv.plan.Gateway.MCP
}

// admitSession admits a request that opens a session, before the SDK
// reads it: a slot within mcp.max_sessions and
// mcp.max_sessions_per_client, and a body within mcp.max_initialize_bytes
// (an initialize is small, and its session keeps what it says). Refusals
// are problem documents, not JSON-RPC errors, as nothing has been parsed
// yet: 503 when the gateway is full, 429 when this client has its share,
// 413 for a body too large. MCP clients handle these: the SDKs report the
// status with the body's text, and the Go SDK takes 429 and 503 as
// transient. When ok is false the answer has been written; otherwise the
// caller must settle the slot once the request has been served.
func (s *Surface) admitSession(w http.ResponseWriter, r *http.Request, cfg gateway.MCP, client string) (sl *slot, ok bool) {
	sl, refused := s.sessions.admit(client, cfg)
	if refused != "" {
		s.opts.Refusals.Add(refused)
		problem.Write(w, sessionsFull(refused, cfg))
		return nil, false
	}
	body, err := readInitialize(r, int64(cfg.MaxInitializeBytes))
	if err != nil {
		sl.settle()
		var tooLarge *problem.BodyError
		if errors.As(err, &tooLarge) {
			s.opts.Refusals.Add(RefusedInitializeBytes)
		}
		problem.Write(w, problem.From(err))
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return sl, true
}

func sessionsFull(refused string, cfg gateway.MCP) *problem.Problem {
	p := problem.New("too-many-sessions", http.StatusServiceUnavailable,
		"the gateway holds as many MCP sessions as mcp.max_sessions ("+strconv.Itoa(cfg.MaxSessions)+") allows; retry later")
	if refused == RefusedSessionsPerClient {
		p = problem.New("too-many-sessions", http.StatusTooManyRequests,
			"this client holds as many MCP sessions as mcp.max_sessions_per_client ("+strconv.Itoa(cfg.MaxSessionsPerClient)+
				") allows; end one (DELETE /mcp with its Mcp-Session-Id) or retry later")
	}
	p.RetryAfter = sessionsRetryAfter
	return p
}

// readInitialize reads the body of a session-opening request, up to
// limit bytes; past it, a 413 BodyError.
func readInitialize(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe): // server.max_body is the smaller bound
		limit = mbe.Limit
	case err != nil:
		return nil, &problem.BodyError{Status: http.StatusBadRequest, Slug: "bad-request", Detail: "the request body could not be read"}
	case int64(len(body)) <= limit:
		return body, nil
	}
	return nil, &problem.BodyError{Status: http.StatusRequestEntityTooLarge, Slug: "body-too-large",
		Detail: "a request opening an MCP session is over the limit of " + strconv.FormatInt(limit, 10) + " bytes (mcp.max_initialize_bytes)"}
}

// guard is a receiving middleware: it refuses a message carrying a string
// the session would keep that is longer than mcp.max_client_string, and
// hands the slot of a session-opening request to the session its
// initialize sets up. It runs before the SDK's own handler stores
// anything.
func (s *Surface) guard(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		c := callerFrom(req.GetExtra())
		cfg := limits(c.served)
		if err := s.checkStrings(req.GetParams(), int(cfg.MaxClientString)); err != nil {
			return nil, err
		}
		if method == methodInitialize && c.slot != nil {
			ss, ok := req.GetSession().(*mcp.ServerSession)
			if !ok || !c.slot.claim() {
				// The opening request ended (the client went away) and
				// gave its slot back: no uncounted session may stay.
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "the request that opened this session has ended"}
			}
			s.sessions.keep(ss, c.slot, time.Duration(cfg.InitTimeout))
		}
		return next(ctx, method, req)
	}
}

// checkStrings refuses params holding a kept string over limit bytes.
// Refusing rather than truncating: real clients send names and versions of
// a few dozen bytes, and a truncated clientInfo would misname the client
// in logs.
func (s *Surface) checkStrings(params mcp.Params, limit int) error {
	if limit <= 0 {
		return nil
	}
	for _, f := range keptStrings(params) {
		if len(f.value) > limit {
			s.opts.Refusals.Add(RefusedClientString)
			return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams,
				Message: fmt.Sprintf("%s is %d bytes, over the limit of %d (mcp.max_client_string)", f.name, len(f.value), limit)}
		}
	}
	return nil
}

type field struct{ name, value string }

// keptStrings lists the strings of params that the SDK keeps for the
// session's life.
func keptStrings(params mcp.Params) []field {
	switch p := params.(type) {
	case *mcp.InitializeParams:
		if p == nil {
			return nil
		}
		out := []field{{"protocolVersion", p.ProtocolVersion}}
		if ci := p.ClientInfo; ci != nil {
			out = append(out, field{"clientInfo.name", ci.Name}, field{"clientInfo.title", ci.Title},
				field{"clientInfo.version", ci.Version}, field{"clientInfo.description", ci.Description},
				field{"clientInfo.websiteUrl", ci.WebsiteURL})
		}
		return out
	case *mcp.SetLoggingLevelParams:
		if p == nil {
			return nil
		}
		return []field{{"level", string(p.Level)}}
	}
	return nil
}
