package admin

import (
	"context"
	"net/http"
	"slices"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/control"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// PipelineView is a pipeline as the admin API lists it.
type PipelineView struct {
	Name      string     `json:"name"`
	Method    string     `json:"method"`
	Path      string     `json:"path"`
	File      string     `json:"file"`
	SHA256    string     `json:"sha256"`
	Summary   string     `json:"summary"`
	Cache     string     `json:"cache,omitempty"`
	Timeout   string     `json:"timeout"`
	Steps     []StepView `json:"steps"`
	Upstreams []string   `json:"upstreams"`
}

// StepView is one step of a pipeline.
type StepView struct {
	Name     string   `json:"name"`
	Upstream string   `json:"upstream"`
	Needs    []string `json:"needs,omitempty"`
	Cache    string   `json:"cache,omitempty"`
	Optional bool     `json:"optional,omitempty"`
}

// UpstreamView is an upstream with its breaker, as the admin API lists it.
type UpstreamView struct {
	Name     string      `json:"name"`
	Kind     string      `json:"kind"`
	URL      string      `json:"url"` // user part and secrets redacted
	InFlight int         `json:"in_flight"`
	Breaker  BreakerView `json:"breaker"`
}

// BreakerView is an upstream breaker's state, override and counts in its
// current window.
type BreakerView struct {
	State               string `json:"state"`    // closed, open or half-open
	Override            string `json:"override"` // auto, open or closed
	Requests            uint32 `json:"requests"`
	Successes           uint32 `json:"successes"`
	Failures            uint32 `json:"failures"`
	ConsecutiveFailures uint32 `json:"consecutive_failures"`
}

func (a *API) runtime() *server.Runtime { return a.opts.Server.Runtime() }

func (a *API) listPipelines(w http.ResponseWriter, _ *http.Request) {
	plan := a.runtime().Plan
	out := make([]PipelineView, 0, len(plan.Pipelines))
	for _, p := range plan.Pipelines {
		out = append(out, pipelineView(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"pipelines": out})
}

func (a *API) getPipeline(w http.ResponseWriter, r *http.Request) {
	p := a.runtime().Plan.Pipeline(r.PathValue("name"))
	if p == nil {
		fail(w, notFound("no pipeline "+r.PathValue("name")))
		return
	}
	writeJSON(w, http.StatusOK, pipelineView(p))
}

func pipelineView(p *pipeline.Compiled) PipelineView {
	v := PipelineView{
		Name: p.Name, Method: p.Method, Path: p.Path, File: p.File, SHA256: p.SHA256,
		Summary: p.Summary, Timeout: p.Timeout.D().String(), Steps: []StepView{}, Upstreams: []string{},
	}
	if p.Cache > 0 {
		v.Cache = p.Cache.D().String()
	}
	for _, name := range p.StepOrder {
		st := p.Steps[name]
		sv := StepView{Name: name, Upstream: st.Upstream, Needs: st.Needs, Optional: st.Optional}
		if st.Cache > 0 {
			sv.Cache = st.Cache.D().String()
		}
		v.Steps = append(v.Steps, sv)
		if !slices.Contains(v.Upstreams, st.Upstream) {
			v.Upstreams = append(v.Upstreams, st.Upstream)
		}
	}
	slices.Sort(v.Upstreams)
	return v
}

func (a *API) listUpstreams(w http.ResponseWriter, _ *http.Request) {
	rt := a.runtime()
	out := []UpstreamView{}
	for _, u := range rt.Upstreams() {
		out = append(out, upstreamView(rt, u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"upstreams": out})
}

func (a *API) getUpstream(w http.ResponseWriter, r *http.Request) {
	rt := a.runtime()
	u := rt.Upstream(r.PathValue("name"))
	if u == nil {
		fail(w, notFound("no upstream "+r.PathValue("name")))
		return
	}
	writeJSON(w, http.StatusOK, upstreamView(rt, u))
}

func upstreamView(rt *server.Runtime, u *connectors.Upstream) UpstreamView {
	gw := rt.Plan.Gateway
	cfg := gw.Upstreams[u.Name()]
	c := u.Counts()
	v := UpstreamView{
		Name: u.Name(), InFlight: u.InFlight(),
		Breaker: BreakerView{
			State: u.BreakerState(), Override: u.BreakerOverride(),
			Requests: c.Requests, Successes: c.Successes, Failures: c.Failures, ConsecutiveFailures: c.ConsecutiveFailures,
		},
	}
	if cfg != nil {
		v.Kind = cfg.Kind
		v.URL = redactString(cfg.URL, gw.Secrets())
	}
	return v
}

func (a *API) forceBreaker(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var in struct {
		State string `json:"state"`
	}
	if err := readJSON(w, r, &in); err != nil {
		fail(w, err)
		return
	}
	res, err := a.acts.ForceBreaker(r.Context(), name, in.State)
	a.answer(w, r, res, err, func(ctx context.Context, c Cluster) (control.Result, error) {
		return c.ForceBreaker(ctx, name, in.State)
	})
}

// purge empties the cache: all of it, a pipeline's whole answers, or an
// upstream's step answers.
func (a *API) purge(w http.ResponseWriter, r *http.Request) {
	var in control.PurgeScope
	if err := readJSON(w, r, &in); err != nil {
		fail(w, err)
		return
	}
	res, err := a.acts.Purge(r.Context(), in)
	a.answer(w, r, res, err, func(ctx context.Context, c Cluster) (control.Result, error) { return c.Purge(ctx, in) })
}
