package graphqlview

import (
	"context"
	"fmt"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/refusal"
	"github.com/manifoldgw/manifold/internal/server"
)

// Names under which the view counts its refusals (refusal.Counts): the
// gateway.yaml keys of the bounds. A select that is not a path is
// counted as graphql.select; one that picks more than the answer may
// hold, as server.max_response.
const (
	RefusedQueryBytes     = "graphql.max_query_bytes"
	RefusedOperations     = "graphql.max_operations_per_connection"
	RefusedSubscriptions  = "graphql.max_subscriptions"
	RefusedClientSubs     = "graphql.max_subscriptions_per_client"
	RefusedSelect         = "graphql.select"
	RefusedSelectResponse = "server.max_response"
)

// Codes of operations and requests refused by a bound (extensions.code).
const (
	codeQueryTooLarge        = "QUERY_TOO_LARGE"
	codeTooManyOperations    = "TOO_MANY_OPERATIONS"
	codeTooManySubscriptions = "TOO_MANY_SUBSCRIPTIONS"
	codeTooManyStreams       = "TOO_MANY_STREAMS"
)

// queryLimit bounds a query's text. The HTTP transports check it before
// handing the request to gqlgen (a 413); as the first parameter mutator,
// ahead of persisted queries and the parse cache, it also covers
// WebSocket subscribes and whatever a persisted query stands for.
type queryLimit struct {
	max       int
	maxFields int // graphql.max_complexity: one per field
	refusals  *refusal.Counts
	// parsed is the parsed-query cache: a document found there has been
	// validated already, and its shape is not measured again.
	parsed *byteLRU[*ast.QueryDocument]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = queryLimit{}

func (queryLimit) ExtensionName() string                   { return "QueryLimit" }
func (queryLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (q queryLimit) MutateOperationParameters(_ context.Context, p *graphql.RawParams) *gqlerror.Error {
	rerr := q.check(p.Query)
	if rerr == nil {
		rerr = q.checkShape(p.Query)
	}
	if rerr != nil {
		err := gqlerror.Errorf("%s", rerr.msg)
		errcode.Set(err, rerr.code)
		return err
	}
	return nil
}

// check refuses a query longer than the limit, and counts the refusal.
// The HTTP transports call it before gqlgen sees the request.
func (q queryLimit) check(query string) *requestError {
	if len(query) <= q.max {
		return nil
	}
	q.refusals.Add(RefusedQueryBytes)
	return &requestError{http.StatusRequestEntityTooLarge, codeQueryTooLarge,
		fmt.Sprintf("the query is %d bytes; this gateway takes at most %d (graphql.max_query_bytes)", len(query), q.max)}
}

// checkShape refuses a document whose validation would cost more than it
// is worth (see checkShape), unless the parse cache holds it: then it was
// validated before, and passed.
func (q queryLimit) checkShape(query string) *requestError {
	if q.parsed != nil {
		if _, ok := q.parsed.Get(context.Background(), query); ok {
			return nil
		}
	}
	rerr, bound := checkShape(query, q.maxFields)
	if rerr != nil {
		q.refusals.Add(bound)
	}
	return rerr
}

// subscriptions counts the open subscriptions, in all and per client,
// across WebSocket and SSE. It outlives reloads, as the subscriptions do.
type subscriptions struct{ q server.Quota }

// acquire takes a subscription for client, or returns the bound that
// refuses it.
func (s *subscriptions) acquire(client string, cfg gateway.GraphQL) (release func(), refused string) {
	release, over := s.q.Take(client, cfg.MaxSubscriptions, cfg.MaxSubscriptionsPerClient)
	switch over {
	case server.OverTotal:
		return nil, RefusedSubscriptions
	case server.OverClient:
		return nil, RefusedClientSubs
	}
	return release, ""
}

// Open is how many subscriptions are open.
func (s *subscriptions) Open() int { return s.q.Held() }

// operationLimit bounds the operations active at once on one WebSocket
// and the subscriptions open at once. An operation past a bound is
// refused on its own: an error message for its id on a WebSocket (the
// socket and its other operations go on), an error response over SSE.
type operationLimit struct {
	cfg      gateway.GraphQL
	subs     *subscriptions
	refusals *refusal.Counts
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = operationLimit{}

func (operationLimit) ExtensionName() string                   { return "OperationLimit" }
func (operationLimit) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation runs with the operation's own context: it ends when
// the operation does (a WebSocket operation completed or stopped, an SSE
// or HTTP request answered), which gives the slots back.
func (l operationLimit) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	st, _ := ctx.Value(requestKey{}).(*requestState)
	if st == nil {
		return next(ctx)
	}
	var releases []func()
	if st.socket {
		if n := st.active.Add(1); n > int64(l.cfg.MaxOperationsPerConnection) {
			st.active.Add(-1)
			return l.refuse(ctx, st, RefusedOperations, codeTooManyOperations, fmt.Sprintf(
				"this connection has %d operations active, as many as graphql.max_operations_per_connection allows: complete one first",
				l.cfg.MaxOperationsPerConnection))
		}
		releases = append(releases, func() { st.active.Add(-1) })
	}
	if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Subscription {
		release, refused := l.subs.acquire(st.client, l.cfg)
		if refused != "" {
			for _, r := range releases {
				r()
			}
			return l.refuse(ctx, st, refused, codeTooManySubscriptions,
				"the gateway holds as many subscriptions as "+refused+" allows; close one or retry later")
		}
		releases = append(releases, release)
	}
	context.AfterFunc(ctx, func() {
		for _, r := range releases {
			r()
		}
	})
	return next(ctx)
}

// refuse answers an operation past a bound and counts it.
func (l operationLimit) refuse(ctx context.Context, st *requestState, bound, code, msg string) graphql.ResponseHandler {
	l.refusals.Add(bound)
	err := &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": code, "limit": bound}}
	if st.socket {
		// An error message for this operation's id (graphql-transport-ws),
		// which clients report to the operation's sink.
		transport.AddSubscriptionError(ctx, err)
		return func(context.Context) *graphql.Response { return nil }
	}
	return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{err}})
}
