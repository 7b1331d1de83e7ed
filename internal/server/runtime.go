package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"golang.org/x/sync/singleflight"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/cache"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Runtime is a Plan made runnable: its upstream connectors and engine.
// It is immutable once built; a reload builds a new one.
type Runtime struct {
	Plan      *pipeline.Plan
	Engine    *pipeline.Engine
	upstreams map[string]*connectors.Upstream
	cache     *cache.Cache
	flight    singleflight.Group // identical concurrent runs of cached pipelines
}

// Build creates the connectors and the engine of plan.
func Build(plan *pipeline.Plan, logger *slog.Logger) (*Runtime, error) {
	c, err := cache.New(int64(plan.Gateway.Cache.MaxSize))
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	rt := &Runtime{Plan: plan, upstreams: map[string]*connectors.Upstream{}, cache: c}
	conns := map[string]connectors.Connector{}
	for name, u := range plan.Gateway.Upstreams {
		cfg, err := upstreamConfig(name, u)
		if err != nil {
			rt.Close()
			return nil, err
		}
		u, err := connectors.New(cfg, connectors.Options{Logger: logger, Cache: rt.cache})
		if err != nil {
			rt.Close()
			return nil, err
		}
		rt.upstreams[name], conns[name] = u, u
	}
	rt.Engine = pipeline.NewEngine(conns, pipeline.EngineOptions{MaxResponse: int(plan.Gateway.Server.MaxResponse)})
	return rt, nil
}

func upstreamConfig(name string, u *pipeline.Upstream) (connectors.Config, error) {
	base, err := url.Parse(u.URL)
	if err != nil {
		return connectors.Config{}, fmt.Errorf("upstream %s: %w", name, err)
	}
	headers := http.Header{}
	for k, v := range u.Headers {
		headers.Set(k, v)
	}
	return connectors.Config{
		Name:        name,
		Kind:        u.Kind,
		URL:         base,
		Timeout:     u.Timeout.D(),
		Retries:     u.Retries,
		Concurrency: u.Concurrency,
		MaxResponse: int64(u.MaxResponse),
		Headers:     headers,
		Breaker: connectors.BreakerConfig{
			Failures: u.Breaker.Failures,
			Window:   u.Breaker.Window.D(),
			Cooldown: u.Breaker.Cooldown.D(),
		},
	}, nil
}

// Close releases the upstreams' idle connections and the cache.
func (rt *Runtime) Close() {
	for _, u := range rt.upstreams {
		u.Close()
	}
	if rt.cache != nil {
		rt.cache.Close()
	}
}

// Cache is the runtime's shared cache (step answers and whole answers).
func (rt *Runtime) Cache() *cache.Cache { return rt.cache }

// Upstream returns the named upstream, for operators' views.
func (rt *Runtime) Upstream(name string) *connectors.Upstream { return rt.upstreams[name] }
