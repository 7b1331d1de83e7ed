package server

import (
	"context"
	"net"
	"net/http"
	"net/url"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Surface serves more of the gateway beside the pipelines' REST paths:
// OpenAPI documents, GraphQL, MCP, metrics. Mount is called for every
// Runtime, at start and at each reload, so a surface always follows the
// plan being served. Surfaces call Server.Invoke to run a pipeline.
type Surface interface {
	Mount(mux *http.ServeMux, s *Server, rt *Runtime) error
}

// Authenticator identifies the caller of a request. It returns a nil
// Identity for an anonymous caller, and an error for credentials that are
// present but wrong (the error should carry its problem: see
// problem.Error).
type Authenticator interface {
	Authenticate(r *http.Request) (*pipeline.Identity, error)
}

// IdentityChecker is implemented by an Authenticator that can tell
// whether an identity it gave out is still good under the plan now
// served: a reload may remove an API-key consumer. Long-lived streams ask
// it after every reload and end when the answer is no.
type IdentityChecker interface {
	StillValid(id *pipeline.Identity) bool
}

// Limiter applies rate limits to a call. It returns headers to add to the
// answer (RateLimit, RateLimit-Policy) and, to refuse, an error carrying a
// 429 problem with Retry-After.
type Limiter interface {
	Allow(ctx context.Context, p *pipeline.Compiled, id *pipeline.Identity, client string) (http.Header, error)
}

// RequestValidator checks a REST request against the pipeline's published
// contract before anything runs. It returns an error carrying a 400
// problem listing every violation. query is r's query, parsed once for
// the check and the handler.
type RequestValidator interface {
	ValidateRequest(r *http.Request, query url.Values, rt *Runtime, p *pipeline.Compiled) error
}

type identityKey struct{}

// IdentityFrom returns the caller ServeHTTP authenticated, or nil.
func IdentityFrom(ctx context.Context) *pipeline.Identity {
	id, _ := ctx.Value(identityKey{}).(*pipeline.Identity)
	return id
}

// WithIdentity returns ctx carrying id (for surfaces and tests that
// authenticate by other means).
func WithIdentity(ctx context.Context, id *pipeline.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// remoteIP is the default client address: the TCP peer, without port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
