package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/itchyny/gojq"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
)

// runArgs are the arguments of Query.run and Mutation.run.
type runArgs struct {
	pipeline string
	params   any
	body     any
	sel      *string
	mutation bool // Mutation.run: side effects allowed
}

// run converts the arguments into a call, runs it through the gateway's
// run path (Server.Invoke, then Server.Finish to record it) and converts
// the outcome. It decides nothing the REST path does not.
func (r *Resolver) run(ctx context.Context, a runArgs) (*Run, error) {
	p := r.Runtime.Plan.Pipeline(a.pipeline)
	if p == nil {
		return nil, newError("not-found", http.StatusNotFound, fmt.Sprintf("there is no pipeline %q", a.pipeline))
	}
	if !a.mutation && p.Method != http.MethodGet {
		return nil, newError("method-not-allowed", http.StatusMethodNotAllowed,
			fmt.Sprintf("pipeline %s is %s and may have side effects: run it with mutation { run(...) }", p.Name, p.Method))
	}
	info := RequestInfo{}
	if r.Requests != nil {
		info = r.Requests(ctx)
	}
	call := &server.Call{
		Pipeline: p, Surface: event.SurfaceGraphQL, Method: p.Method, Path: p.Path,
		Client: info.Client, RequestID: info.RequestID,
	}
	start := time.Now()
	var o *server.Outcome
	var sel *gojq.Code
	var err error
	// Credentials and roles come first, as on the REST path: Invoke
	// refuses a caller who may not call p before anything is parsed.
	if server.Allowed(p, server.IdentityFrom(ctx)) {
		sel, err = r.prepare(call, a)
	}
	if err != nil {
		o = &server.Outcome{Err: err, Start: start}
	} else {
		o = r.Server.Invoke(ctx, call)
	}
	status := http.StatusOK
	if o.Err != nil {
		status = problem.From(o.Err).Status
	}
	r.Server.Finish(ctx, call, o, status)
	return r.toRun(ctx, call, o, status, sel)
}

// prepare types the params and body of a call and compiles its select.
func (r *Resolver) prepare(call *server.Call, a runArgs) (*gojq.Code, error) {
	p := call.Pipeline
	params, err := paramsOf(p, a.params)
	if err != nil {
		return nil, err
	}
	call.Input.Params = params
	if call.Input.Body, err = bodyOf(p, a.body); err != nil {
		return nil, err
	}
	return compileSelect(a.sel)
}

// paramsOf types the params argument as the REST path types a query
// string: the same checks, defaults and problem list, and names that are
// not parameters are reported too.
func paramsOf(p *pipeline.Compiled, raw any) (map[string]any, error) {
	var args map[string]any
	switch v := raw.(type) {
	case nil:
	case map[string]any:
		args = v
	default:
		return nil, badInput("params", "must be an object of parameter values by name")
	}
	params, err := p.ParamsFromJSON(args)
	var unknown []pipeline.ParamProblem
	for _, name := range sortedKeys(args) {
		if _, ok := p.Params[name]; !ok {
			unknown = append(unknown, pipeline.ParamProblem{In: "params", Name: name, Reason: "not a parameter of " + p.Name})
		}
	}
	if len(unknown) == 0 {
		return params, err
	}
	all := &pipeline.ParamsError{}
	if pe, ok := err.(*pipeline.ParamsError); ok {
		all.Problems = pe.Problems
	}
	all.Problems = append(all.Problems, unknown...)
	return nil, all
}

// bodyOf checks the body argument as the REST path checks a request body
// and turns it into what a decoded JSON body is (numbers as float64).
func bodyOf(p *pipeline.Compiled, raw any) (any, error) {
	if p.Method == http.MethodGet {
		if raw != nil {
			return nil, badInput("body", "a GET pipeline takes no body")
		}
		return nil, nil
	}
	if raw == nil {
		if p.Body != nil {
			return nil, badInput("body", "a JSON request body is required")
		}
		return nil, nil
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return nil, badInput("body", "the body is not JSON")
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, badInput("body", "the body is not JSON")
	}
	return v, nil
}

func badInput(name, reason string) error {
	return &problem.BodyError{Status: http.StatusBadRequest, Slug: "bad-request", Name: name, Detail: name + ": " + reason}
}

// toRun converts an outcome. A call refused before anything ran (no
// access, rate limited, bad input) is an error of the run field; a run
// that failed still shows its steps, with the error on Run.data.
func (r *Resolver) toRun(ctx context.Context, call *server.Call, o *server.Outcome, status int, sel *gojq.Code) (*Run, error) {
	if o.Err != nil && o.Result == nil {
		return nil, errorFrom(o.Err)
	}
	run := &Run{
		RequestID:  call.RequestID,
		Pipeline:   call.Pipeline.Name,
		Status:     status,
		Complete:   o.Err == nil && len(o.Missing()) == 0,
		Missing:    nonNil(o.Missing()),
		Stale:      nonNil(o.Stale()),
		Cache:      cacheOutcome(o.Cache),
		StartedAt:  o.Start,
		DurationMs: sinceMs(o.Start),
		Steps:      []*RunStep{},
	}
	if o.Result != nil {
		run.Steps = tracer{gw: r.Runtime.Plan.Gateway}.steps(o.Result.Steps)
	}
	if o.Err != nil {
		run.Failure = errorFrom(o.Err)
		return run, nil
	}
	data, err := o.Data()
	if err != nil {
		run.Failure = &Error{P: problem.New("internal", http.StatusInternalServerError, ""), Err: err}
		return run, nil
	}
	run.Answer, run.Failure = narrow(ctx, data, sel, int(r.Runtime.Plan.Gateway.Server.MaxResponse))
	return run, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
