package mcpserver

import (
	"context"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
)

// caller is who sent one HTTP request of an MCP session, as
// server.ServeHTTP authenticated it.
type caller struct {
	ctx       context.Context    // the HTTP request's
	served    *served            // by the Runtime that routed the request
	id        *pipeline.Identity // nil: anonymous
	client    string
	requestID string
	slot      *slot // of a request that opens a session
}

type callerKey struct{}

// callerExtra is the TokenInfo.Extra key holding the *caller.
const callerExtra = "manifold.caller"

// callerToken stands in for the caller's credentials on the request the
// SDK sees: the real ones were checked already and go no further.
const callerToken = "manifold-authenticated"

// withCaller returns the handler of Path for the Runtime that serves sv:
// it bounds sessions and event streams, and hands the caller of each HTTP
// request to the SDK. The SDK attaches a request's auth.TokenInfo to every
// message the request carries (RequestExtra.TokenInfo), and the only way
// to set it is its bearer-token middleware; so the caller rides in the
// request's context and a verifier that trusts that context turns it into
// the TokenInfo. The consumer's name becomes TokenInfo.UserID, with which
// the SDK refuses a session's requests from anyone but the consumer that
// opened it.
func (s *Surface) withCaller(sv *served) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &caller{
			served:    sv,
			id:        server.IdentityFrom(r.Context()),
			client:    s.srv.ClientIP(r),
			requestID: w.Header().Get(server.RequestIDHeader),
		}
		ctx := r.Context()
		switch {
		case s.opts.Stateless:
			if r.Method == http.MethodPost {
				release, ok := s.admitRequest(w, limits(sv), c.client)
				if !ok {
					return
				}
				defer release()
			}
		case opensSession(r):
			sl, ok := s.admitSession(w, r, limits(sv), c.client)
			if !ok {
				return
			}
			defer sl.settle()
			c.slot = sl
		case r.Method == http.MethodGet && s.sessions.known(r.Header.Get(sessionHeader)):
			// The standalone event stream lives as long as the session
			// (tool calls arrive as POSTs, each on the current Runtime):
			// a bounded stream, ended when the caller's credential
			// expires or a reload removes it. A GET the SDK refuses at
			// once (unknown session) stays a plain request.
			st, err := s.srv.OpenStream(w, r)
			if err != nil {
				problem.Write(w, problem.From(err))
				return
			}
			defer st.Close()
			ctx = st.Context()
		}
		c.ctx = ctx
		r = r.Clone(context.WithValue(sdkContext{ctx}, callerKey{}, c))
		r.Header.Set("Authorization", "Bearer "+callerToken)
		if r.Method == http.MethodDelete {
			s.serveDelete(w, r)
			return
		}
		s.sdk.ServeHTTP(w, r)
	})
}

// serveDelete lets the SDK end the session a DELETE names; once it has,
// the session's slot is given back before the answer goes out.
func (s *Surface) serveDelete(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	s.sdk.ServeHTTP(sw, r)
	if sw.status == http.StatusNoContent {
		s.sessions.ended(r.Header.Get(sessionHeader))
	}
}

// statusWriter remembers the status of an answer without a body.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// sdkContext is a request's context as the SDK may keep it: its
// cancellation, and of its values only those net/http sets (the SDK reads
// the local address). A session keeps the context of the request that
// opened it for its whole life, so without this every later call would
// see that first request's Runtime, caller and trace.
type sdkContext struct{ context.Context }

func (c sdkContext) Value(key any) any {
	if key == http.LocalAddrContextKey || key == http.ServerContextKey {
		return c.Context.Value(key)
	}
	return nil
}

// callContext is the context of one tool call: it ends when the call does
// (the client cancels it, the session ends), and its values are those of
// the HTTP request that carried the call: the Runtime that request is
// served on, its caller, its trace.
type callContext struct {
	context.Context
	values context.Context
}

func (c callContext) Value(key any) any { return c.values.Value(key) }

func verifyCaller(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
	c, ok := ctx.Value(callerKey{}).(*caller)
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	info := &auth.TokenInfo{Extra: map[string]any{callerExtra: c}}
	if c.id != nil {
		info.UserID = c.id.Name
		info.Scopes = c.id.Roles
	}
	return info, nil
}

// callerFrom returns the caller of the HTTP request that carried a
// message; anonymous when there is none.
func callerFrom(extra *mcp.RequestExtra) *caller {
	if extra != nil && extra.TokenInfo != nil {
		if c, ok := extra.TokenInfo.Extra[callerExtra].(*caller); ok {
			return c
		}
	}
	return &caller{served: &served{}}
}

// context returns the context to run a call in, from the SDK's handler
// context ctx.
func (c *caller) context(ctx context.Context) context.Context {
	if c.ctx == nil {
		return server.WithIdentity(ctx, nil)
	}
	return callContext{Context: ctx, values: c.ctx}
}
