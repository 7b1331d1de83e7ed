package resolvers

import (
	"context"
	"fmt"
	"net/http"

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
			select {
			case out <- (tracer{gw: plan.Gateway}).event(c):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
