package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
)

// The admin actions as Go calls, for the admin API's handlers and the
// operator console alike: both check the same way and leave the same
// audit events.

// Pipelines lists the pipelines served, as GET /pipelines does.
func (a *API) Pipelines() []PipelineView {
	plan := a.runtime().Plan
	out := make([]PipelineView, 0, len(plan.Pipelines))
	for _, p := range plan.Pipelines {
		out = append(out, pipelineView(p))
	}
	return out
}

// Upstreams lists the upstreams with their breakers, as GET /upstreams
// does.
func (a *API) Upstreams() []UpstreamView {
	rt := a.runtime()
	out := []UpstreamView{}
	for _, u := range rt.Upstreams() {
		out = append(out, upstreamView(rt, u))
	}
	return out
}

// ForceBreaker sets the breaker override of upstream name (open, closed
// or auto) and audits it as breaker.force. Errors are problems: 404 for
// an unknown upstream, 400 for an unknown state.
func (a *API) ForceBreaker(ctx context.Context, name, state string) (UpstreamView, error) {
	rt := a.runtime()
	u := rt.Upstream(name)
	if u == nil {
		return UpstreamView{}, notFound("no upstream " + name)
	}
	if err := u.ForceBreaker(state); errors.Is(err, connectors.ErrBreakerMode) {
		return UpstreamView{}, badRequest(`"state" must be "open", "closed" or "auto"`)
	}
	a.audit(ctx, "breaker.force", map[string]any{"upstream": u.Name(), "state": state})
	return upstreamView(rt, u), nil
}

// PurgeScope says what to purge: exactly one of everything, a
// pipeline's whole answers, or an upstream's step answers (with the
// whole answers built from them).
type PurgeScope struct {
	All      bool   `json:"all"`
	Pipeline string `json:"pipeline"`
	Upstream string `json:"upstream"`
}

// Purge empties the cache as in says and audits it as cache.purge; it
// returns the details audited. Errors are problems.
func (a *API) Purge(ctx context.Context, in PurgeScope) (map[string]any, error) {
	// Purging everything is asked for by name: an empty or half-typed
	// request must not empty the cache.
	if n := btoi(in.All) + btoi(in.Pipeline != "") + btoi(in.Upstream != ""); n != 1 {
		return nil, badRequest(`say what to purge: {"all": true}, {"pipeline": NAME} or {"upstream": NAME}`)
	}
	rt := a.runtime()
	c := rt.Cache()
	if c == nil {
		return nil, &problem.Error{P: problem.New("no-cache", http.StatusConflict, "the gateway has no cache")}
	}
	details := map[string]any{"scope": "all"}
	switch {
	case in.Pipeline != "":
		if rt.Plan.Pipeline(in.Pipeline) == nil {
			return nil, notFound("no pipeline " + in.Pipeline)
		}
		c.PurgeNamespace(server.ResponseNamespace(in.Pipeline))
		details = map[string]any{"scope": "pipeline", "pipeline": in.Pipeline}
	case in.Upstream != "":
		if rt.Upstream(in.Upstream) == nil {
			return nil, notFound("no upstream " + in.Upstream)
		}
		// The whole answers built from the upstream's answers go too.
		c.PurgeNamespace(in.Upstream)
		var dependents []string
		for _, p := range rt.Plan.Pipelines {
			if slices.Contains(pipelineView(p).Upstreams, in.Upstream) {
				c.PurgeNamespace(server.ResponseNamespace(p.Name))
				dependents = append(dependents, p.Name)
			}
		}
		details = map[string]any{"scope": "upstream", "upstream": in.Upstream, "pipelines": dependents}
	default:
		c.Purge()
	}
	a.audit(ctx, "cache.purge", details)
	return details, nil
}
