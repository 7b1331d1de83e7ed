package resolvers

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// runs streams the finished calls of the pipelines the subscriber may
// call. The feed drops events for a subscriber that falls behind rather
// than holding up the calls that record them.
func (r *Resolver) runs(ctx context.Context, only *string) (<-chan *RunEvent, error) {
	id := server.IdentityFrom(ctx)
	origin := ""
	if r.Origin != nil {
		origin = r.Origin(ctx)
	}
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
			if !ownCall(c, id, origin) {
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
// consumer or, for an anonymous subscriber, an anonymous call carried by
// the subscriber's own connection (origin). Anonymous callers cannot be
// told apart otherwise: a client address is shared behind NAT and
// proxies, and one anonymous caller must not see another's parameters.
func ownCall(c *event.Call, id *pipeline.Identity, origin string) bool {
	if id != nil {
		return c.Consumer == id.Key() // event.Call.Consumer is Identity.Key
	}
	if c.Consumer != "" || origin == "" {
		return false
	}
	return c.RequestID == origin || strings.HasPrefix(c.RequestID, origin+"-")
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
