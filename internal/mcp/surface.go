package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/refusal"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/openapi"
)

// Path is where the MCP endpoint is served.
const Path = "/mcp"

// ErrOtherServer is returned when a Surface is mounted on a second Server:
// its sessions belong to the first one.
var ErrOtherServer = errors.New("mcp: surface already serves another server")

// Options configure a Surface; the zero value serves tools only.
type Options struct {
	Logger *slog.Logger
	// Version is the server version reported to clients ("dev" if empty).
	Version string
	// Spec renders a plan's OpenAPI document as JSON. When set, the
	// document is offered as the resource SpecURI.
	Spec func(*pipeline.Plan) ([]byte, error)
	// Specs gives each plan's OpenAPI document: a tool call's arguments
	// are checked against its pipeline's operation, as a REST request is.
	// Nil: the Surface keeps its own.
	Specs *openapi.Specs
	// Refusals counts the requests refused by the bounds of gateway.yaml's
	// mcp section (nil: uncounted).
	Refusals *refusal.Counts
	// Stateless serves MCP without sessions (the SDK's stateless
	// streamable HTTP), for replicas behind a plain load balancer: any
	// replica answers any request, as nothing of a client is kept between
	// requests. Clients get no standalone event stream (no list_changed
	// notification) and no server-to-client request. mcp.max_sessions
	// and mcp.max_sessions_per_client then bound the MCP requests in
	// flight; the session timeouts and max_initialize_bytes do not apply.
	Stateless bool
}

// Surface serves the pipelines as MCP tools. It implements server.Surface;
// create it with New and put it in server.Options.Surfaces.
type Surface struct {
	opts Options
	log  *slog.Logger

	mu   sync.Mutex // serializes Mount
	srv  *server.Server
	mcp  *mcp.Server
	sdk  http.Handler      // the SDK's streamable HTTP handler, behind withCaller's verifier
	defs map[string][]byte // the JSON of each listed tool, to re-add only what changed

	sessions sessions // counted against gateway.yaml's mcp bounds
}

// served is what one Runtime serves: its plan and the plan's tools. Each
// HTTP request carries the served of the Runtime that routed it, so a call
// runs a pipeline of the plan it is served on, even while a reload swaps
// plans.
type served struct {
	plan  *pipeline.Plan
	tools map[string]*tool
	spec  *openapi.Spec // plan's published contract, which arguments are checked against
}

var _ server.Surface = (*Surface)(nil)

// New returns a Surface. Nothing is served until Mount.
func New(opts Options) *Surface {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.Specs == nil {
		opts.Specs = openapi.New(openapi.Options{Logger: opts.Logger})
	}
	return &Surface{opts: opts, log: opts.Logger}
}

// Mount implements server.Surface: it brings the tool list up to date with
// rt's plan (connected sessions are told when it changed) and serves Path
// on mux. The MCP server and its sessions outlive every Mount.
func (s *Surface) Mount(mux *http.ServeMux, srv *server.Server, rt *server.Runtime) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.srv == nil:
		s.start(srv, rt.Plan)
	case s.srv != srv:
		return ErrOtherServer
	}
	sv, err := s.update(rt.Plan)
	if err != nil {
		return err
	}
	mux.Handle(Path, s.withCaller(sv))
	return nil
}

// start creates the MCP server and its HTTP handler for the first plan.
func (s *Surface) start(srv *server.Server, plan *pipeline.Plan) {
	s.srv = srv
	gw := plan.Gateway
	caps := &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}}
	if s.opts.Spec != nil {
		caps.Resources = &mcp.ResourceCapabilities{}
	}
	s.mcp = mcp.NewServer(&mcp.Implementation{
		Name:    "manifold",
		Title:   gw.Plugin.NameForHuman,
		Version: s.opts.Version,
	}, &mcp.ServerOptions{
		Instructions: strings.TrimSpace(gw.Plugin.DescriptionForModel),
		Logger:       s.log,
		Capabilities: caps,
		SetCacheable: privateToolList,
		InitializedHandler: func(_ context.Context, req *mcp.InitializedRequest) {
			s.sessions.initialized(req.Session.ID())
		},
	})
	s.mcp.AddReceivingMiddleware(s.guard, s.filterTools)
	if s.opts.Spec != nil {
		s.mcp.AddResource(specResource(), s.readSpec)
	}
	// A message within a session is at most a tool call: its body within
	// server.max_body, plus the JSON-RPC envelope and the parameters. (The
	// message opening a session is held to mcp.max_initialize_bytes.)
	limit := int64(gw.Server.MaxBody) + 64<<10
	// The SDK's handler lives across reloads: the first plan's timeout
	// stays. It closes a session that has had no POST for this long (an
	// open event stream does not count: clients ping to stay).
	timeout := time.Duration(gw.MCP.SessionTimeout)
	if timeout <= 0 {
		timeout = gateway.DefaultMCPSessionTimeout
	}
	opts := &mcp.StreamableHTTPOptions{
		SessionTimeout:      timeout,
		MaxRequestBodyBytes: limit,
		// Events are kept so that a client whose event stream was cut (a
		// proxy's idle timeout) resumes with Last-Event-ID and misses no
		// notification; the store is bounded (10 MiB) and purges oldest.
		EventStore: mcp.NewMemoryEventStore(nil),
	}
	if s.opts.Stateless {
		// Each POST is a session of its own that ends with it: there is
		// nothing to time out and no stream to resume.
		opts = &mcp.StreamableHTTPOptions{Stateless: true, MaxRequestBodyBytes: limit}
	}
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp }, opts)
	s.sdk = auth.RequireBearerToken(verifyCaller, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(handler)
}

// update makes the tool list that of plan. Only tools that are new or
// changed are added, so a reload that changes nothing sends nothing.
func (s *Surface) update(plan *pipeline.Plan) (*served, error) {
	spec, err := s.opts.Specs.For(plan)
	if err != nil {
		return nil, err
	}
	next := make(map[string]*tool, len(plan.Pipelines))
	defs := make(map[string][]byte, len(plan.Pipelines))
	var changed []*mcp.Tool
	for _, p := range plan.Pipelines {
		t, err := newTool(p)
		if t == nil {
			return nil, err
		}
		if err != nil {
			s.log.Warn("mcp tool", "err", err)
		}
		def, err := json.Marshal(t.def)
		if err != nil {
			return nil, err
		}
		next[p.Name], defs[p.Name] = t, def
		if !bytes.Equal(def, s.defs[p.Name]) {
			changed = append(changed, t.def)
		}
	}
	var gone []string
	for name := range s.defs {
		if _, ok := defs[name]; !ok {
			gone = append(gone, name)
		}
	}
	s.defs = defs
	if len(gone) > 0 {
		s.mcp.RemoveTools(gone...)
	}
	for _, def := range changed {
		s.mcp.AddTool(def, s.handle(def.Name))
	}
	return &served{plan: plan, tools: next, spec: spec}, nil
}

// privateToolList marks tool lists private: each caller's list depends
// on its roles, so no intermediary may serve one caller's list to another.
func privateToolList(_ context.Context, req mcp.Request, c *mcp.Cacheable) {
	if _, ok := req.(*mcp.ListToolsRequest); ok {
		c.CacheScope = "private"
	}
}

// filterTools is a receiving middleware: tools/list shows a caller only
// the tools its roles may call, of the plan its request is served on.
func (s *Surface) filterTools(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		list, ok := res.(*mcp.ListToolsResult)
		if err != nil || !ok {
			return res, err
		}
		c := callerFrom(req.GetExtra())
		kept := make([]*mcp.Tool, 0, len(list.Tools))
		for _, def := range list.Tools {
			if t := c.served.tools[def.Name]; t != nil && server.Allowed(t.p, c.id) {
				kept = append(kept, def)
			}
		}
		list.Tools = kept
		return list, nil
	}
}
