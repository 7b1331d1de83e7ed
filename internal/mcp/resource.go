package mcpserver

import (
	"context"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// SpecURI is the URI of the OpenAPI document resource.
const SpecURI = "manifold://spec/openapi.json"

func specResource() *mcp.Resource {
	return &mcp.Resource{
		URI:         SpecURI,
		Name:        "openapi",
		Title:       "OpenAPI document",
		Description: "The OpenAPI 3.1 document of every pipeline, as served at /openapi.json: the same operations as these tools, with their parameters and answers.",
		MIMEType:    "application/json",
	}
}

// readSpec renders the OpenAPI document of the plan the request is served
// on.
func (s *Surface) readSpec(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	plan := callerFrom(req.Extra).served.plan
	if plan == nil {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	doc, err := s.opts.Spec(plan)
	if err != nil {
		s.log.Error("mcp: rendering the OpenAPI document", "err", err)
		return nil, fmt.Errorf("the OpenAPI document could not be rendered")
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
		URI: SpecURI, MIMEType: "application/json", Text: string(doc),
	}}}, nil
}

// Close ends every MCP session, which also ends their event streams: call
// it when the HTTP server starts shutting down (http.Server.RegisterOnShutdown),
// or the streams, open for as long as their session, would hold the drain
// until its deadline.
func (s *Surface) Close() {
	s.mu.Lock()
	m := s.mcp
	s.mu.Unlock()
	if m == nil {
		return
	}
	for ss := range m.Sessions() {
		_ = ss.Close()
	}
}
