package admin

import (
	"context"
	"fmt"

	"github.com/manifoldgw/manifold/internal/control"
)

// The admin actions as Go calls for the operator console: the same
// checks, audit events and, in cluster mode, the same fan-out to every
// replica as the admin API's handlers.

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

// ForceBreaker does what PUT /upstreams/{name}/breaker does: it sets the
// breaker override of upstream name here and, in cluster mode, on every
// other replica. replicas says how far it reached ("" outside a
// cluster). A refusal here is a *control.ActionError and reaches no other
// replica.
func (a *API) ForceBreaker(ctx context.Context, name, state string) (v UpstreamView, replicas string, err error) {
	res, err := a.acts.ForceBreaker(ctx, name, state)
	if err != nil {
		return UpstreamView{}, "", err
	}
	return res.(UpstreamView), a.fanOut(ctx, func(c Cluster) (control.Result, error) { return c.ForceBreaker(ctx, name, state) }), nil
}

// Purge does what POST /cache/purge does, here and, in cluster mode, on
// every other replica; it returns the details audited and how far it
// reached.
func (a *API) Purge(ctx context.Context, in control.PurgeScope) (details map[string]any, replicas string, err error) {
	res, err := a.acts.Purge(ctx, in)
	if err != nil {
		return nil, "", err
	}
	details, _ = res.(map[string]any)["purged"].(map[string]any)
	return details, a.fanOut(ctx, func(c Cluster) (control.Result, error) { return c.Purge(ctx, in) }), nil
}

// fanOut asks the other replicas in cluster mode and says how it went in
// a sentence.
func (a *API) fanOut(ctx context.Context, ask func(Cluster) (control.Result, error)) string {
	if a.opts.Cluster == nil {
		return ""
	}
	res, err := ask(a.opts.Cluster)
	if err != nil {
		a.opts.Logger.WarnContext(ctx, "admin action reached this replica only", "err", err)
		return "This replica only: the others were not asked (" + err.Error() + ")."
	}
	return fmt.Sprintf("Other replicas: %d acted, %d failed, %d did not answer in time.", len(res.Acted), len(res.Failed), len(res.NotAnswered))
}
