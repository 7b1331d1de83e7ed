package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/itchyny/gojq"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/openapi"
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
		sel, err = r.prepare(ctx, call, a)
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

// prepare types the params and body of a call, through the same check
// as a REST request (openapi.Spec.CheckArgs), and compiles its select.
func (r *Resolver) prepare(ctx context.Context, call *server.Call, a runArgs) (*gojq.Code, error) {
	args, err := argsOf(call.Pipeline, a)
	if err != nil {
		return nil, err
	}
	if call.Input.Params, call.Input.Body, err = r.Spec.CheckArgs(ctx, call.Pipeline, args); err != nil {
		return nil, err
	}
	return compileSelect(a.sel)
}

// argsOf reads the params and body arguments as the JSON input of a call.
// What only GraphQL can get wrong is refused here: params that are not an
// object, a body for a GET pipeline.
func argsOf(p *pipeline.Compiled, a runArgs) (openapi.Args, error) {
	var args openapi.Args
	switch v := a.params.(type) {
	case nil:
	case map[string]any:
		args.Params = v
	default:
		return args, badInput("params", "must be an object of parameter values by name")
	}
	if a.body == nil {
		return args, nil
	}
	if p.Method == http.MethodGet {
		return args, badInput("body", "a GET pipeline takes no body")
	}
	data, err := json.Marshal(a.body)
	if err != nil {
		return args, badInput("body", "the body is not JSON")
	}
	args.Body = data
	return args, nil
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
