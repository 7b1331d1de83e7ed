package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/openapi"
)

// Keys of the _meta object of a tool result.
const (
	MetaRequestID  = "manifold/request_id" // the gateway's id of the call, as in logs and audit events
	MetaIncomplete = "manifold/incomplete" // optional steps that failed
	MetaStale      = "manifold/stale"      // steps served from stale cache entries
	MetaCache      = "manifold/cache"      // whole-answer cache: hit, miss or stale
	MetaProblem    = "manifold/problem"    // the RFC 9457 problem of a failed call
)

// statusClientClosed is nginx's status for a request its client gave up.
const statusClientClosed = 499

// handle returns the handler of the tool called name. It looks the
// pipeline up in the plan the call's request is served on, so a reload
// that changes a pipeline but not its tool definition runs the new one.
func (s *Surface) handle(name string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (res *mcp.CallToolResult, _ error) {
		c := callerFrom(req.Extra)
		// The SDK runs handlers on its own goroutines, where a panic
		// would end the process; net/http contains a REST handler's.
		defer func() {
			if v := recover(); v != nil {
				s.log.Error("mcp tool call panicked", "tool", name, "request_id", c.requestID, "panic", v, "stack", string(debug.Stack()))
				res = errorResult(problem.New("internal", http.StatusInternalServerError, ""), c.requestID)
			}
		}()
		t := c.served.tools[name]
		if t == nil { // listed by a plan that is not (or not yet) served
			return errorResult(problem.New("not-found", http.StatusNotFound, "no pipeline named "+name+" is served"), c.requestID), nil
		}
		return s.call(ctx, c, t, req), nil
	}
}

// call runs one tool call as a pipeline call: checked and typed
// arguments, then Server.Invoke and Server.Finish, as REST does.
func (s *Surface) call(ctx context.Context, c *caller, t *tool, req *mcp.CallToolRequest) *mcp.CallToolResult {
	p := t.p
	call := &server.Call{
		Pipeline: p, Surface: event.SurfaceMCP, Method: p.Method, Path: p.Path,
		Client: c.client, RequestID: c.requestID,
	}
	call.Input.Consumer = c.id
	ctx = c.context(ctx)
	o := s.invoke(ctx, c.served, t, call, req.Params.Arguments)
	if o.Err != nil && ctx.Err() != nil {
		// The client cancelled the call: nobody reads the answer, and REST
		// records no call either in this case.
		pr := problem.New("cancelled", statusClientClosed, "the call was cancelled")
		pr.Title = "Client Closed Request"
		return errorResult(pr, call.RequestID)
	}
	if o.Err != nil {
		pr := problem.From(o.Err)
		s.log.WarnContext(ctx, "mcp tool call failed", "tool", p.Name, "request_id", call.RequestID, "err", o.Err)
		s.srv.Finish(ctx, call, o, pr.Status)
		return errorResult(pr, call.RequestID)
	}
	res := t.result(o, call.RequestID)
	s.srv.Finish(ctx, call, o, http.StatusOK)
	return res
}

// invoke checks the arguments and runs the call. A caller the pipeline
// refuses learns that before anything about its arguments, as over REST.
func (s *Surface) invoke(ctx context.Context, sv *served, t *tool, call *server.Call, args json.RawMessage) *server.Outcome {
	start := time.Now()
	if !server.Allowed(t.p, call.Input.Consumer) {
		return s.srv.Invoke(ctx, call) // refused by its authorization step
	}
	params, body, err := t.input(ctx, sv.spec, args)
	if err != nil {
		return &server.Outcome{Err: err, Start: start}
	}
	call.Input.Params, call.Input.Body = params, body
	o := s.srv.Invoke(ctx, call)
	o.Start = start
	return o
}

// input types and checks the arguments of a call against the pipeline's
// OpenAPI operation, through the same check as a REST request
// (openapi.Spec.CheckArgs): the same problem and entries for the same
// input, whatever the surface.
func (t *tool) input(ctx context.Context, spec *openapi.Spec, raw json.RawMessage) (map[string]any, any, error) {
	var args map[string]json.RawMessage
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, nil, &pipeline.ParamsError{Problems: []pipeline.ParamProblem{{In: "arguments", Name: "arguments", Reason: "must be a JSON object"}}}
		}
	}
	a := openapi.Args{Params: make(map[string]any, len(args))}
	for name, v := range args {
		if name == t.bodyKey {
			if string(v) != "null" {
				a.Body = v
			}
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber() // integers beyond 2^53 stay exact
		var x any
		if err := dec.Decode(&x); err != nil {
			return nil, nil, err // the SDK decoded it already: cannot happen
		}
		a.Params[name] = x
	}
	params, body, err := spec.CheckArgs(ctx, t.p, a)
	return params, body, t.bodyNamed(err)
}

// bodyNamed names the body argument in a problem's entries as the model
// passes it: t.bodyKey, which is not "body" when a parameter is called so.
func (t *tool) bodyNamed(err error) error {
	var pe *problem.Error
	if err == nil || t.bodyKey == "body" || !errors.As(err, &pe) {
		return err
	}
	if list, ok := pe.P.Errors.([]pipeline.ParamProblem); ok {
		for i, e := range list {
			if e.In == "body" && e.Name == "body" {
				list[i].Name = t.bodyKey
			}
		}
	}
	return err
}

// result renders an answer: the JSON as structured content (an object,
// see tool.wrap) and as text, after a line saying what is missing or stale
// so that the model can tell the user.
func (t *tool) result(o *server.Outcome, requestID string) *mcp.CallToolResult {
	meta := mcp.Meta{MetaRequestID: requestID}
	var text strings.Builder
	if m := o.Missing(); len(m) > 0 {
		meta[MetaIncomplete] = m
		fmt.Fprintf(&text, "Incomplete: missing %s (these parts failed and are null in the answer; tell the user they are unavailable right now)\n", strings.Join(m, ", "))
	}
	if st := o.Stale(); len(st) > 0 {
		meta[MetaStale] = st
		fmt.Fprintf(&text, "Stale: %s (served from an earlier answer because the backend failed)\n", strings.Join(st, ", "))
	}
	if o.Cache != "" {
		meta[MetaCache] = o.Cache
	}
	text.Write(o.JSON)
	var structured any = json.RawMessage(o.JSON)
	if t.wrap || !isObject(o.JSON) {
		structured = map[string]any{"result": json.RawMessage(o.JSON)}
	}
	return &mcp.CallToolResult{
		Meta:              meta,
		Content:           []mcp.Content{&mcp.TextContent{Text: text.String()}},
		StructuredContent: structured,
	}
}

func isObject(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '{'
}

// errorResult is a tool error (isError) carrying the problem document: as
// text for the model, after a line it can read at a glance, and in _meta
// for programs.
func errorResult(pr *problem.Problem, requestID string) *mcp.CallToolResult {
	doc, err := json.Marshal(pr)
	if err != nil {
		doc = []byte(`{}`)
	}
	var text strings.Builder
	fmt.Fprintf(&text, "Error %d %s", pr.Status, pr.Title)
	if pr.Detail != "" {
		fmt.Fprintf(&text, ": %s", pr.Detail)
	}
	text.WriteString("\n")
	if pr.UpstreamDetail != "" {
		// Quoted and attributed: the upstream's text is data for the
		// model, not the gateway speaking, and not instructions.
		fmt.Fprintf(&text, "Upstream %q said (quoted, not from the gateway): %q\n", pr.Upstream, pr.UpstreamDetail)
	}
	if list, ok := pr.Errors.([]pipeline.ParamProblem); ok {
		for _, e := range list {
			fmt.Fprintf(&text, "- %s: %s\n", e.Name, e.Reason)
		}
	}
	if pr.RetryAfter > 0 {
		fmt.Fprintf(&text, "Retry after %d seconds.\n", pr.RetryAfter)
	}
	text.Write(doc)
	meta := mcp.Meta{MetaProblem: json.RawMessage(doc)}
	if requestID != "" {
		meta[MetaRequestID] = requestID
	}
	return &mcp.CallToolResult{
		Meta:    meta,
		Content: []mcp.Content{&mcp.TextContent{Text: text.String()}},
		IsError: true,
	}
}
