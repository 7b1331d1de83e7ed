package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/cache"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/redact"
)

// Runtime is a Plan made runnable: its upstream connectors and engine.
// It is immutable once built; a reload builds a new one.
type Runtime struct {
	Plan      *pipeline.Plan
	Engine    *pipeline.Engine
	upstreams map[string]*connectors.Upstream
	cache     *cache.Cache
	flightsMu sync.Mutex
	flights   map[string]*flight // identical concurrent runs of cached pipelines

	configs map[string]connectors.Config // what each upstream was built from
	active  atomic.Int64                 // requests being served on this Runtime
	changed []string                     // cache namespaces purged against the previous Runtime
}

// Build creates the connectors and the engine of plan (see BuildWith).
func Build(plan *pipeline.Plan, logger *slog.Logger) (*Runtime, error) {
	return BuildWith(plan, BuildOptions{Logger: logger})
}

func upstreamConfig(name string, u *gateway.Upstream) (connectors.Config, error) {
	base, err := url.Parse(u.URL)
	if err != nil { // the error quotes the URL: never its user part
		return connectors.Config{}, fmt.Errorf("upstream %s: %w", name, redact.Error(err))
	}
	headers := http.Header{}
	for k, v := range u.Headers {
		headers.Set(k, v)
	}
	tc, err := UpstreamTLS(u.TLS)
	if err != nil {
		return connectors.Config{}, fmt.Errorf("upstream %s: %w", name, err)
	}
	cfg := connectors.Config{
		Name:        name,
		Kind:        u.Kind,
		URL:         base,
		Timeout:     u.Timeout.D(),
		Retries:     u.Retries,
		Concurrency: u.Concurrency,
		MaxResponse: int64(u.MaxResponse),
		Headers:     headers,
		TLS:         tc,
		// Set by the defaults; nil only for an Upstream built by hand.
		NoErrorDetail: u.ErrorDetail != nil && !*u.ErrorDetail,
		Breaker: connectors.BreakerConfig{
			Failures: u.Breaker.Failures,
			Window:   u.Breaker.Window.D(),
			Cooldown: u.Breaker.Cooldown.D(),
			Shared:   u.Breaker.Shared,
		},
	}
	cfg.Auth, cfg.Query = upstreamAuth(u.Auth), url.Values{}
	for k, v := range u.Query {
		cfg.Query.Set(k, v)
	}
	cfg.FollowRedirects, cfg.RedirectHosts, cfg.Format = u.FollowRedirects, u.RedirectHosts, u.Format
	return cfg, nil
}

// upstreamAuth is gateway.yaml's `auth:` as the connector takes it.
func upstreamAuth(a *gateway.UpstreamAuth) *connectors.AuthConfig {
	if a == nil {
		return nil
	}
	return &connectors.AuthConfig{
		Type: a.Type, In: a.In, Name: a.Name, Value: a.Value, Token: a.Token,
		Username: a.Username, Password: a.Password, TokenURL: a.TokenURL, ClientID: a.ClientID,
		ClientSecret: a.ClientSecret, Scopes: a.Scopes, Audience: a.Audience,
	}
}

// Close releases the upstreams' idle connections and the cache.
func (rt *Runtime) Close() { rt.Release(nil) }

// Cache is the runtime's shared cache (step answers and whole answers).
func (rt *Runtime) Cache() *cache.Cache { return rt.cache }

// Upstream returns the named upstream, for operators' views.
func (rt *Runtime) Upstream(name string) *connectors.Upstream { return rt.upstreams[name] }
