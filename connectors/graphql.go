package connectors

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// GraphQL is the transport of `kind: graphql` upstreams. It POSTs the
// request envelope ({"query": ..., "variables": ...}, rendered by the
// engine) to the upstream URL, plus Request.Path if set, and answers with
// the "data" member of the GraphQL response. A response with "errors" is a
// *GraphQLError, even with partial data; a non-2xx answer is a
// *StatusError, as for HTTP.
type GraphQL struct {
	http *HTTP
}

var _ Connector = (*GraphQL)(nil)

// NewGraphQL returns the transport for cfg; see NewHTTP.
func NewGraphQL(cfg Config) (*GraphQL, error) {
	h, err := NewHTTP(cfg)
	if err != nil {
		return nil, err
	}
	// GraphQL over HTTP (graphql.github.io/graphql-over-http) media type
	// first, plain JSON for older servers.
	h.accept = []string{"application/graphql-response+json, application/json"}
	return &GraphQL{http: h}, nil
}

// Do runs the operation in req.Body. req.Method and req.Query are ignored:
// GraphQL operations are always POSTed.
func (g *GraphQL) Do(ctx context.Context, req *Request) (*Response, error) {
	if req.Body == nil {
		return &Response{}, fmt.Errorf("POST %s: %w: graphql request without a body", g.http.target(req.Path), ErrInvalidRequest)
	}
	post := &Request{Method: http.MethodPost, Path: req.Path, Header: req.Header, Forward: req.Forward, Via: req.Via, Body: req.Body}
	resp, err := g.http.Do(ctx, post)
	if err != nil {
		return resp, err
	}
	var env struct {
		Data   json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal(resp.Body, &env); err != nil {
		resp.Body = nil
		return resp, fmt.Errorf("POST %s: invalid GraphQL response: %w", g.http.target(req.Path), err)
	}
	resp.Body = env.Data
	if len(resp.Body) == 0 {
		resp.Body = json.RawMessage("null")
	}
	if len(env.Errors) > 0 {
		gerr := &GraphQLError{Messages: make([]string, len(env.Errors))}
		for i, e := range env.Errors {
			gerr.Messages[i] = clip(e.Message)
		}
		return resp, fmt.Errorf("POST %s: %w", g.http.target(req.Path), gerr)
	}
	return resp, nil
}

// Close closes the idle connections of the upstream's pool.
func (g *GraphQL) Close() { g.http.Close() }

func (g *GraphQL) wrapRoundTripper(wrap func(http.RoundTripper) http.RoundTripper) {
	g.http.wrapRoundTripper(wrap)
}
