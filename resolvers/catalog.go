package resolvers

import (
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// visible lists the pipelines id may call, by name: the catalog shows what
// a caller can use, as REST and MCP do.
func visible(plan *pipeline.Plan, id *pipeline.Identity) []*pipeline.Compiled {
	var out []*pipeline.Compiled
	for _, p := range plan.Pipelines { // sorted by name
		if server.Allowed(p, id) {
			out = append(out, p)
		}
	}
	return out
}

func toPipeline(p *pipeline.Compiled) *Pipeline {
	out := &Pipeline{
		Name:        p.Name,
		Summary:     optString(p.Summary),
		Description: optString(p.Description),
		Method:      HTTPMethod(p.Method),
		Path:        p.Path,
		Access:      toAccess(p.Access),
		CacheMs:     optMs(p.Cache.D()),
		TimeoutMs:   ms(p.Timeout.D()),
	}
	for _, name := range p.ParamOrder {
		out.Params = append(out.Params, toParam(name, p.Params[name]))
	}
	if p.Body != nil {
		out.Body = &RequestBody{Description: optString(p.Body.Description), Schema: jsonValue(p.Body.Schema)}
	}
	if r := p.Response; r != nil {
		out.ResponseDescription, out.ResponseSchema = optString(r.Description), jsonValue(r.Schema)
	}
	for _, name := range p.StepOrder {
		out.Steps = append(out.Steps, toPipelineStep(name, p.Steps[name]))
	}
	return out
}

func toParam(name string, p *pipeline.Param) *Param {
	out := &Param{
		Name:        name,
		WireName:    p.WireName(name),
		Location:    ParamLocation(strings.ToUpper(p.In)),
		Type:        ParamType(strings.ToUpper(p.Type)),
		Description: optString(p.Description),
		Required:    p.IsRequired(),
		Default:     p.Default,
		Example:     p.Example,
		Enum:        p.Enum,
		Minimum:     p.Minimum,
		Maximum:     p.Maximum,
		MinLength:   p.MinLength,
		MaxLength:   p.MaxLength,
		Pattern:     optString(p.Pattern),
	}
	if it := p.ItemParam(); it != nil {
		t := ParamType(strings.ToUpper(it.Type))
		out.Items = &t
	}
	return out
}

func toAccess(a *gateway.Access) *Access {
	if a == nil {
		return &Access{Public: true, Roles: []string{}}
	}
	out := &Access{Public: a.Public, Roles: append([]string{}, a.Roles...)}
	if a.Rate != nil {
		out.Rate = optString(a.Rate.String())
	}
	return out
}

func toPipelineStep(name string, s *pipeline.Step) *PipelineStep {
	out := &PipelineStep{
		Name:     name,
		Upstream: s.Upstream,
		Method:   HTTPMethod(s.Method),
		Needs:    append([]string{}, s.Needs...),
		Optional: s.Optional,
		CacheMs:  optMs(s.Cache.D()),
	}
	if s.When != nil {
		out.When = optString(s.When.Src)
	}
	if s.Foreach != nil {
		out.Foreach = optString(s.Foreach.Src)
		c := s.Concurrency
		out.Concurrency = &c
	}
	return out
}

// upstreams lists the upstreams of the pipelines id may call, with the
// pipelines that use each.
func upstreams(rt *server.Runtime, id *pipeline.Identity) []*Upstream {
	users := map[string][]string{}
	for _, p := range visible(rt.Plan, id) {
		seen := map[string]bool{}
		for _, name := range p.StepOrder {
			u := p.Steps[name].Upstream
			if !seen[u] {
				seen[u] = true
				users[u] = append(users[u], p.Name)
			}
		}
	}
	names := make([]string, 0, len(users))
	for name := range users {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]*Upstream, 0, len(names))
	for _, name := range names {
		cfg := rt.Plan.Gateway.Upstreams[name]
		if cfg == nil {
			continue
		}
		out = append(out, toUpstream(name, cfg, rt.Upstream(name), rt.Plan.Gateway.Secrets(), users[name]))
	}
	return out
}

func toUpstream(name string, cfg *gateway.Upstream, live *connectors.Upstream, secrets []string, users []string) *Upstream {
	out := &Upstream{
		Name:        name,
		Kind:        UpstreamKind(strings.ToUpper(cfg.Kind)),
		URL:         baseURL(cfg.URL, secrets),
		TimeoutMs:   ms(cfg.Timeout.D()),
		Retries:     cfg.Retries,
		Concurrency: cfg.Concurrency,
		Pipelines:   users,
		Breaker: &Breaker{
			State:            BreakerStateClosed,
			FailureThreshold: cfg.Breaker.Failures,
			WindowMs:         ms(cfg.Breaker.Window.D()),
			CooldownMs:       ms(cfg.Breaker.Cooldown.D()),
		},
	}
	if live == nil {
		return out
	}
	out.InFlight = live.InFlight()
	if s := breakerState(live.BreakerState()); s != nil {
		out.Breaker.State = *s
	}
	c := live.Counts()
	out.Breaker.Requests, out.Breaker.Successes = int(c.Requests), int(c.Successes)
	out.Breaker.Failures, out.Breaker.ConsecutiveFailures = int(c.Failures), int(c.ConsecutiveFailures)
	return out
}

// baseURL is an upstream's URL as the view may show it: no userinfo,
// query or fragment, and no secret (see redactSecrets).
func baseURL(raw string, secrets []string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	clean := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return redactSecrets(clean.String(), secrets)
}

// redactSecrets replaces the values gateway.yaml took from the environment
// with "REDACTED". An upstream address taken from the environment is
// hidden whole, as the admin API hides it: this view may be public, and
// internal hosts are not for anonymous callers.
func redactSecrets(s string, secrets []string) string {
	for _, v := range secrets {
		if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
			s = strings.ReplaceAll(s, strings.TrimSuffix(v, "/"), "REDACTED")
			continue
		}
		if len(v) >= 4 { // a short value would redact ordinary text
			for _, form := range []string{v, url.PathEscape(v), url.QueryEscape(v)} {
				s = strings.ReplaceAll(s, form, "REDACTED")
			}
		}
	}
	return s
}

func breakerState(s string) *BreakerState {
	var b BreakerState
	switch s {
	case "closed":
		b = BreakerStateClosed
	case "open":
		b = BreakerStateOpen
	case "half-open":
		b = BreakerStateHalfOpen
	default:
		return nil
	}
	return &b
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func optMs(d time.Duration) *float64 {
	if d <= 0 {
		return nil
	}
	v := ms(d)
	return &v
}

// jsonValue returns a JSON Schema decoded from YAML as plain JSON values
// (nil stays nil, so that the field is null).
func jsonValue(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}
