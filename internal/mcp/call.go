package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
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
	o := s.invoke(ctx, t, call, req.Params.Arguments)
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
func (s *Surface) invoke(ctx context.Context, t *tool, call *server.Call, args json.RawMessage) *server.Outcome {
	start := time.Now()
	if !server.Allowed(t.p, call.Input.Consumer) {
		return s.srv.Invoke(ctx, call) // refused by its authorization step
	}
	params, body, err := t.input(args)
	if err != nil {
		return &server.Outcome{Err: err, Start: start}
	}
	call.Input.Params, call.Input.Body = params, body
	o := s.srv.Invoke(ctx, call)
	o.Start = start
	return o
}

// input types and checks the arguments of a call: the parameters with the
// pipeline's own rules (the same reasons as a REST request gets), then the
// body of a non-GET pipeline.
func (t *tool) input(raw json.RawMessage) (map[string]any, any, error) {
	var args map[string]json.RawMessage
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, nil, &pipeline.ParamsError{Problems: []pipeline.ParamProblem{{In: "arguments", Name: "arguments", Reason: "must be a JSON object"}}}
		}
	}
	values := make(map[string]any, len(args))
	var unknown []pipeline.ParamProblem
	for name, v := range args {
		if name == t.bodyKey {
			continue
		}
		if _, ok := t.p.Params[name]; !ok {
			unknown = append(unknown, pipeline.ParamProblem{In: "arguments", Name: name, Reason: "unknown argument"})
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber() // integers beyond 2^53 stay exact
		var x any
		if err := dec.Decode(&x); err != nil {
			return nil, nil, err
		}
		values[name] = x
	}
	params, err := t.p.ParamsFromJSON(values)
	if len(unknown) > 0 {
		slices.SortFunc(unknown, func(a, b pipeline.ParamProblem) int { return strings.Compare(a.Name, b.Name) })
		pe := &pipeline.ParamsError{}
		var prev *pipeline.ParamsError
		if errors.As(err, &prev) {
			pe.Problems = prev.Problems
		}
		pe.Problems = append(pe.Problems, unknown...)
		return nil, nil, pe
	}
	if err != nil {
		return nil, nil, err
	}
	body, err := t.readBody(args)
	return params, body, err
}

// readBody checks the body argument as REST checks a request body: present
// when declared, within max_body, and valid against its schema.
func (t *tool) readBody(args map[string]json.RawMessage) (any, error) {
	if t.bodyKey == "" {
		return nil, nil
	}
	raw, ok := args[t.bodyKey]
	if !ok || string(raw) == "null" {
		if t.p.Body != nil {
			return nil, &problem.BodyError{Status: http.StatusBadRequest, Slug: "bad-request", Name: t.bodyKey, Detail: "a JSON request body is required"}
		}
		return nil, nil
	}
	if t.maxBody > 0 && int64(len(raw)) > t.maxBody {
		return nil, &problem.BodyError{Status: http.StatusRequestEntityTooLarge, Slug: "body-too-large",
			Detail: "the request body is over the limit of " + strconv.FormatInt(t.maxBody, 10) + " bytes"}
	}
	var body any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, err // the SDK decoded it already: cannot happen
	}
	if t.body != nil {
		if err := t.body.Validate(body); err != nil {
			return nil, &problem.BodyError{Status: http.StatusBadRequest, Slug: "bad-request", Name: t.bodyKey,
				Detail: "the request body does not match its schema: " + err.Error()}
		}
	}
	return body, nil
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
		fmt.Fprintf(&text, "Upstream %q said (quoted, not from the gateway): %s\n", pr.Upstream, strconv.Quote(pr.UpstreamDetail))
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
