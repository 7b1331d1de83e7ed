package resolvers

import (
	"context"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/openapi"
)

// Resolver is the root of the GraphQL view's resolvers. It holds what they
// need: the gateway's run path (Server.Invoke and Server.Finish, shared
// with REST and MCP), the Runtime whose plan it shows, and the feed of
// finished calls for the runs subscription. Resolvers only convert input
// and output; every decision is the gateway's.
type Resolver struct {
	Server  *server.Server
	Runtime *server.Runtime
	Feed    RunFeed
	// Requests tells who is calling and from where (client address and
	// request id of the HTTP request that carries the operation).
	Requests func(ctx context.Context) RequestInfo
	// Spec is the published contract of Runtime's plan: a run's params
	// and body are checked against it as a REST request is. Required.
	Spec *openapi.Spec
	// Origin is the id of the HTTP request (a WebSocket: the connection)
	// carrying an operation; the runs it carries have this id or
	// <id>-N. An anonymous subscriber sees in full only those.
	Origin func(ctx context.Context) string
}

// RunFeed delivers finished calls to subscribers until ctx ends or the
// feed closes; the channel is closed then.
type RunFeed interface {
	Subscribe(ctx context.Context) <-chan *event.Call
}

// RequestInfo is what the HTTP request carrying an operation tells about
// it, for the call record and rate limits.
type RequestInfo struct {
	Client    string
	RequestID string
}
