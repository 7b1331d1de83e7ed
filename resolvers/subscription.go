package resolvers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// runs streams the finished calls of the pipelines the subscriber may
// call. The feed drops events for a subscriber that falls behind rather
// than holding up the calls that record them.
func (r *Resolver) runs(ctx context.Context, only *string) (<-chan *RunEvent, error) {
	id := server.IdentityFrom(ctx)
	plan := r.Runtime.Plan
	if only != nil {
		p := plan.Pipeline(*only)
		if p == nil || !server.Allowed(p, id) {
			return nil, newError("not-found", http.StatusNotFound, fmt.Sprintf("there is no pipeline %q you may call", *only))
		}
	}
	if r.Feed == nil {
		return nil, newError("internal", http.StatusInternalServerError, "")
	}
	src := r.Feed.Subscribe(ctx)
	out := make(chan *RunEvent)
	go func() {
		defer close(out)
		for c := range src {
			if only != nil && c.Pipeline != *only {
				continue
			}
			// The plan being served now: a subscription outlives reloads.
			plan := r.Server.Runtime().Plan
			if p := plan.Pipeline(c.Pipeline); p == nil || !server.Allowed(p, id) {
				continue
			}
			ev := (tracer{gw: plan.Gateway}).event(c)
			if !ownCall(c.Consumer, id) {
				redactForeign(ev, plan.Pipeline(c.Pipeline).Path)
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// ownCall reports whether a call was made by the subscriber: the same
// identity, source included (event.Call.Consumer is Identity.Key), or
// both anonymous.
func ownCall(consumer string, id *pipeline.Identity) bool {
	if id == nil {
		return consumer == ""
	}
	return consumer == id.Key()
}

// redactForeign strips from another caller's call what could identify
// what it asked for: the request path (its path parameters) and the
// upstream URLs (their query values). Timings, statuses, cache and breaker
// outcomes, what traffic watchers need, stay.
func redactForeign(ev *RunEvent, route string) {
	ev.Path = route
	for _, st := range ev.Steps {
		st.URL = nil
	}
}
