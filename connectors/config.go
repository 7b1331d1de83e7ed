package connectors

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/manifoldgw/manifold/internal/cache"
)

// Kinds of upstream.
const (
	KindHTTP    = "http"
	KindGraphQL = "graphql"
)

// Config describes one upstream, as gateway.yaml's `upstreams.<name>`
// declares it after loading: defaults applied, environment resolved.
// Headers may hold secrets: they are sent upstream and never logged.
type Config struct {
	Name        string
	Kind        string // KindHTTP or KindGraphQL
	URL         *url.URL
	Timeout     time.Duration // per call, including retries
	Retries     int           // extra attempts for idempotent requests
	Breaker     BreakerConfig
	Concurrency int   // calls in flight at most (bulkhead); 0: unlimited
	MaxResponse int64 // response body cap in bytes
	Headers     http.Header
}

// BreakerConfig configures an upstream's circuit breaker: it opens after
// Failures consecutive failures within Window, and stays open for Cooldown.
type BreakerConfig struct {
	Failures int
	Window   time.Duration
	Cooldown time.Duration
}

// Options are the dependencies shared by all upstreams.
type Options struct {
	Logger *slog.Logger // nil: no logs

	// Cache is the gateway's shared answer cache (gateway.yaml `cache:`),
	// used by steps with `cache:`. nil disables step caching.
	Cache *cache.Cache
}
