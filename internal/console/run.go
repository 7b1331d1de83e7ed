package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/openapi"
)

// runResult is the outcome of a Run from the console.
type runResult struct {
	RequestID string
	Status    int
	Consumer  string // Identity.Key(), "" for anonymous
	Answer    string // the answer (JSON, indented) or the problem document
	Cache     string
	Missing   []string
	Duration  time.Duration
	Waterfall waterfall
}

// run calls a pipeline from the Run form through the gateway's run path
// (Server.Invoke, then Server.Finish to record it, as GraphQL and MCP
// do): the same authorization, rate limits, input checks, cache and
// engine as a REST call, acting as the consumer chosen.
func (c *Console) run(w http.ResponseWriter, r *http.Request, se *session) {
	p := c.opts.Server.Runtime().Plan.Pipeline(r.PathValue("name"))
	if p == nil {
		c.fail(w, r, se, http.StatusNotFound, "No pipeline called "+r.PathValue("name")+" is served.")
		return
	}
	res := c.invoke(r, p)
	c.render(w, r, se, http.StatusOK, "pipeline", page{Title: p.Name, Nav: "overview", Data: c.pipelineData(r, p, res)})
}

func (c *Console) invoke(r *http.Request, p *pipeline.Compiled) *runResult {
	ctx := r.Context()
	call := &server.Call{Pipeline: p, Surface: event.SurfaceConsole, Method: p.Method, Path: p.Path,
		Client: peerIP(r), RequestID: requestID()}
	id, known := c.identity(r.PostFormValue("consumer"))
	start := time.Now()
	var o *server.Outcome
	switch {
	case !known:
		o = &server.Outcome{Err: &problem.BodyError{Status: http.StatusBadRequest, Slug: "bad-request", Name: "consumer",
			Detail: "consumer: no consumer called " + r.PostFormValue("consumer") + " in gateway.yaml"}, Start: start}
	default:
		if id != nil {
			ctx = server.WithIdentity(ctx, id)
		}
		call.Input.Consumer = id
		if server.Allowed(p, id) { // a caller who may not call p learns that first, as over REST
			if err := c.input(ctx, call, r); err != nil {
				o = &server.Outcome{Err: err, Start: start}
			}
		}
		if o == nil {
			o = c.opts.Server.Invoke(ctx, call)
		}
	}
	status := http.StatusOK
	if o.Err != nil {
		status = problem.From(o.Err).Status
	}
	c.opts.Server.Finish(ctx, call, o, status)
	return result(call, id, o, status)
}

// input types the form's params and body through the same check as a
// REST request (openapi.Spec.CheckArgs).
func (c *Console) input(ctx context.Context, call *server.Call, r *http.Request) error {
	p := call.Pipeline
	args := openapi.Args{Params: map[string]any{}}
	for _, name := range p.ParamOrder {
		if v := strings.TrimSpace(r.PostFormValue("param." + name)); v != "" {
			args.Params[name] = v
		}
	}
	if body := strings.TrimSpace(r.PostFormValue("body")); body != "" && p.Method != http.MethodGet {
		if !json.Valid([]byte(body)) {
			return &problem.BodyError{Status: http.StatusBadRequest, Slug: "bad-request", Name: "body", Detail: "body: not valid JSON"}
		}
		args.Body = []byte(body)
	}
	if c.opts.Specs == nil {
		return nil
	}
	sp, err := c.opts.Specs.For(c.opts.Server.Runtime().Plan)
	if err != nil {
		return err
	}
	call.Input.Params, call.Input.Body, err = sp.CheckArgs(ctx, p, args)
	return err
}

// identity is consumer name of gateway.yaml as the gateway's API-key
// authentication would identify it; nil for anonymous (""); false for a
// name gateway.yaml does not have.
func (c *Console) identity(name string) (*pipeline.Identity, bool) {
	if name == "" {
		return nil, true
	}
	cons := c.opts.Server.Runtime().Plan.Gateway.Consumers[name]
	if cons == nil {
		return nil, false
	}
	id := &pipeline.Identity{Name: name, Roles: cons.Roles, Source: pipeline.IdentityKey}
	if len(cons.Claims) > 0 {
		// Claims as JSON values, as expressions see a key's claims.
		if b, err := json.Marshal(cons.Claims); err == nil {
			_ = json.Unmarshal(b, &id.Claims)
		}
	}
	return id, true
}

func result(call *server.Call, id *pipeline.Identity, o *server.Outcome, status int) *runResult {
	res := &runResult{RequestID: call.RequestID, Status: status, Consumer: id.Key(), Cache: o.Cache,
		Missing: o.Missing(), Duration: time.Since(o.Start)}
	if o.Result != nil {
		res.Waterfall = waterfallOf(res.Duration, o.Result.Steps)
	}
	if o.Err != nil {
		res.Answer = indentJSON(problem.From(o.Err))
		return res
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, o.JSON, "", "  "); err != nil {
		res.Answer = string(o.JSON)
	} else {
		res.Answer = buf.String()
	}
	return res
}

func requestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
