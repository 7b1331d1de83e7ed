package connectors

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

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
	// TLS configures https connections to the upstream (a private CA, a
	// client certificate, the server name); nil: Go's defaults.
	TLS *tls.Config

	// Auth is the upstream's credential (nil: none) and Query its fixed
	// query parameters: both go to the upstream's own origin only, and
	// their values never show in errors or traces.
	Auth  *AuthConfig
	Query url.Values
	// FollowRedirects is how many redirects one call follows (0: none, a
	// 3xx is an error); RedirectHosts are the other hosts they may lead
	// to ("host" for any port, or "host:port").
	FollowRedirects int
	RedirectHosts   []string
	// Format is how answers are read: FormatJSON (""), FormatXML or
	// FormatText; the engine gets JSON either way.
	Format string
	// NoErrorDetail keeps the reason of an error answer out of
	// StatusError.Detail (gateway.yaml `error_detail: false`).
	NoErrorDetail bool
}

// BreakerConfig configures an upstream's circuit breaker: it opens after
// Failures consecutive failures within Window, and stays open for Cooldown.
type BreakerConfig struct {
	Failures int
	Window   time.Duration
	Cooldown time.Duration
	// Shared makes the breaker one for the whole cluster
	// (Options.SharedBreakers); without that store it stays local.
	Shared bool
}

// Options are the dependencies shared by all upstreams.
type Options struct {
	Logger *slog.Logger // nil: no logs

	// Cache is the gateway's shared answer cache (gateway.yaml `cache:`),
	// used by steps with `cache:`. nil disables step caching.
	Cache *cache.Cache

	// TracerProvider makes a span per call and a client span per attempt;
	// nil: no spans.
	TracerProvider trace.TracerProvider
	// Propagator puts each attempt's trace context in the upstream
	// request's headers (W3C traceparent); nil: nothing is propagated.
	Propagator propagation.TextMapPropagator
	// Observer is told about every finished call (metrics); nil: nobody.
	Observer Observer

	// Transport, if set, wraps or replaces the upstream's HTTP round
	// tripper: it gets the upstream's name and its own connection pool
	// and returns what makes each exchange. `manifold test` answers from
	// canned responses with it, `manifold test --record` records around
	// the pool. Every layer above the exchange runs as usual.
	Transport func(upstream string, pool http.RoundTripper) http.RoundTripper

	// SharedBreakers holds the cluster's shared breaker states; nil
	// outside cluster mode, where `shared: true` breakers stay local.
	SharedBreakers *SharedBreakers
}
