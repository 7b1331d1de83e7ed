package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/control"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
)

// Actions are the admin actions on this replica's plan, cache and
// breakers. The admin API calls them for its own requests, and the
// cluster control plane (internal/control) for the requests of other
// replicas: Actions implements control.Local. Every action that changes
// something is logged and audited on the replica that did it.
type Actions struct {
	opts Options
}

var _ control.Local = (*Actions)(nil)

// NewActions returns the actions of opts.Server; only Server, Reloader,
// Audit and Logger are used, so it needs no admin key: a replica without
// an admin API still acts on what the cluster asks.
func NewActions(opts Options) *Actions {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Actions{opts: opts}
}

// Load implements control.Local: the requests in flight on the plan being
// served and the upstreams whose breaker is not closed.
func (x *Actions) Load(context.Context) control.Load {
	rt := x.opts.Server.Runtime()
	out := control.Load{InFlight: rt.Active(), OpenBreakers: []control.Breaker{}}
	for _, u := range rt.Upstreams() {
		if st := u.BreakerState(); st != "closed" {
			out.OpenBreakers = append(out.OpenBreakers, control.Breaker{Upstream: u.Name(), State: st})
		}
	}
	return out
}

// Reload implements control.Local: it reloads the plan (the reload logs
// and audits itself) and fails with 422 and the load errors when the new
// plan could not be served.
func (x *Actions) Reload(ctx context.Context) (any, error) {
	if x.opts.Reloader == nil {
		return nil, actionError("reload-unavailable", http.StatusConflict, "this gateway was not started from a directory it can reload")
	}
	trigger := "admin"
	if control.OriginOf(ctx) != "" {
		trigger = "cluster"
	}
	st := x.opts.Reloader.Reload(ctx, trigger)
	if !st.OK {
		return st, actionError("reload-failed", http.StatusUnprocessableEntity, "the reload failed, the previous plan keeps serving: "+strings.Join(st.Errors, "; "))
	}
	return st, nil
}

// ForceBreaker implements control.Local.
func (x *Actions) ForceBreaker(ctx context.Context, upstream, state string) (any, error) {
	rt := x.opts.Server.Runtime()
	u := rt.Upstream(upstream)
	if u == nil {
		return nil, actionError("not-found", http.StatusNotFound, "no upstream "+upstream)
	}
	if err := u.ForceBreaker(state); errors.Is(err, connectors.ErrBreakerMode) {
		return nil, actionError("bad-request", http.StatusBadRequest, `"state" must be "open", "closed" or "auto"`)
	} else if err != nil {
		return nil, fmt.Errorf("admin: forcing the breaker of %s: %w", upstream, err)
	}
	x.audit(ctx, "breaker.force", map[string]any{"upstream": u.Name(), "state": state})
	return upstreamView(rt, u), nil
}

// Purge implements control.Local: it empties the cache, all of it, a
// pipeline's whole answers, or an upstream's step answers and the whole
// answers built from them.
func (x *Actions) Purge(ctx context.Context, in control.PurgeScope) (any, error) {
	// Purging everything is asked for by name: an empty or half-typed
	// request must not empty the cache.
	if n := btoi(in.All) + btoi(in.Pipeline != "") + btoi(in.Upstream != ""); n != 1 {
		return nil, actionError("bad-request", http.StatusBadRequest, `say what to purge: {"all": true}, {"pipeline": NAME} or {"upstream": NAME}`)
	}
	rt := x.opts.Server.Runtime()
	c := rt.Cache()
	if c == nil {
		return nil, actionError("no-cache", http.StatusConflict, "the gateway has no cache")
	}
	details := map[string]any{"scope": "all"}
	switch {
	case in.Pipeline != "":
		if rt.Plan.Pipeline(in.Pipeline) == nil {
			return nil, actionError("not-found", http.StatusNotFound, "no pipeline "+in.Pipeline)
		}
		c.PurgeNamespace(server.ResponseNamespace(in.Pipeline))
		details = map[string]any{"scope": "pipeline", "pipeline": in.Pipeline}
	case in.Upstream != "":
		if rt.Upstream(in.Upstream) == nil {
			return nil, actionError("not-found", http.StatusNotFound, "no upstream "+in.Upstream)
		}
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
	x.audit(ctx, "cache.purge", details)
	return map[string]any{"purged": details}, nil
}

// audit logs an admin action and publishes it as an audit event; an
// action asked by another replica names it as "origin".
func (x *Actions) audit(ctx context.Context, action string, details map[string]any) {
	if origin := control.OriginOf(ctx); origin != "" {
		details = maps(details, "origin", origin)
	}
	args := []any{"action", action}
	for k, v := range details {
		args = append(args, k, v)
	}
	x.opts.Logger.InfoContext(ctx, "admin action", args...)
	if x.opts.Audit != nil {
		if err := x.opts.Audit(context.WithoutCancel(ctx), action, details); err != nil {
			x.opts.Logger.WarnContext(ctx, "admin action not audited", "action", action, "err", err)
		}
	}
}

// maps is details with one more key, leaving details as it was.
func maps(details map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(details)+1)
	for dk, dv := range details {
		out[dk] = dv
	}
	out[k] = v
	return out
}

// actionError is a refusal the admin API answers as a problem and the
// control plane as a failed reply with the same status.
func actionError(slug string, status int, detail string) error {
	return &control.ActionError{Code: status, Slug: slug, Detail: detail}
}

// actionProblem writes err as the admin API's problem document.
func actionProblem(w http.ResponseWriter, err error) {
	var ae *control.ActionError
	if errors.As(err, &ae) {
		problem.Write(w, problem.New(ae.Slug, ae.Code, ae.Detail))
		return
	}
	fail(w, err)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
