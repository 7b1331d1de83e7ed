package gateway

import (
	"strings"
	"time"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Gateway defaults, applied in one place (applyDefaults).
const (
	DefaultListen           = ":9080"
	DefaultAdminListen      = "127.0.0.1:9180"
	DefaultMaxBody          = 1 << 20
	DefaultMaxResponse      = 100_000 // what GPT Actions accept
	DefaultMaxConcurrent    = 1024
	DefaultMaxStreams       = 512
	DefaultMaxClientStreams = 16
	DefaultUpstreamTimeout  = 3 * time.Second
	DefaultUpstreamMaxBody  = 10 << 20
	DefaultConcurrency      = 64
	DefaultBreakerFailures  = 5
	DefaultBreakerWindow    = 10 * time.Second
	DefaultBreakerCooldown  = 15 * time.Second
	DefaultCacheSize        = 256 << 20
	DefaultAuditStream      = "MANIFOLD_AUDIT"
	DefaultAuditSubject     = "manifold.audit"
	DefaultAuditDataDir     = "./data"
	DefaultAuditListen      = "127.0.0.1:4222"
	DefaultAuditMaxAge      = 7 * 24 * time.Hour
	DefaultAuditMaxBytes    = 1 << 30
	DefaultAuditDuplicates  = 2 * time.Minute
	DefaultAuditSpool       = 256 << 20
	DefaultAuditQueue       = 8192
	DefaultTelemetryService = "manifold"
)

func applyDefaults(gw *Config) {
	s := &gw.Server
	if s.Listen == "" {
		s.Listen = DefaultListen
	}
	if s.PublicURL == "" {
		s.PublicURL = publicURLOf(s.Listen)
	}
	s.PublicURL = strings.TrimSuffix(s.PublicURL, "/")
	if s.MaxBody == 0 {
		s.MaxBody = DefaultMaxBody
	}
	if s.MaxResponse == 0 {
		s.MaxResponse = DefaultMaxResponse
	}
	if s.MaxConcurrent == 0 {
		s.MaxConcurrent = DefaultMaxConcurrent
	}
	if s.MaxStreams == 0 {
		s.MaxStreams = DefaultMaxStreams
	}
	if s.MaxStreamsPerClient == 0 {
		s.MaxStreamsPerClient = min(DefaultMaxClientStreams, s.MaxStreams)
	}
	if gw.Admin.Listen == "" {
		gw.Admin.Listen = DefaultAdminListen
	}
	for _, u := range gw.Upstreams {
		applyUpstreamDefaults(u)
	}
	if gw.Cache.MaxSize == 0 {
		gw.Cache.MaxSize = DefaultCacheSize
	}
	applyAuditDefaults(&gw.Audit)
	applyNATSDefaults(gw)
	if gw.Telemetry.ServiceName == "" {
		gw.Telemetry.ServiceName = DefaultTelemetryService
	}
	if gw.Telemetry.Prometheus == nil {
		on := true
		gw.Telemetry.Prometheus = &on
	}
	if gw.Telemetry.OTLPProtocol == "" {
		gw.Telemetry.OTLPProtocol = "http"
	}
	if gw.Defaults.Access == nil {
		// Open when nothing authenticates callers; once auth is configured
		// a pipeline without `access:` needs an authenticated caller, so
		// forgetting `defaults` never publishes it (`access: public` opens).
		gw.Defaults.Access = &Access{Public: !authConfigured(gw)}
	}
	applyGraphQLDefaults(&gw.GraphQL)
	applyMCPDefaults(&gw.MCP)
	applySecurityDefaults(gw)
}

func applyUpstreamDefaults(u *Upstream) {
	if u.Kind == "" {
		u.Kind = "http"
	}
	if u.ErrorDetail == nil {
		on := true
		u.ErrorDetail = &on
	}
	if u.Timeout == 0 {
		u.Timeout = yamlconf.Duration(DefaultUpstreamTimeout)
	}
	if u.Concurrency == 0 {
		u.Concurrency = DefaultConcurrency
	}
	if u.MaxResponse == 0 {
		u.MaxResponse = DefaultUpstreamMaxBody
	}
	b := &u.Breaker
	if b.Failures == 0 {
		b.Failures = DefaultBreakerFailures
	}
	if b.Window == 0 {
		b.Window = yamlconf.Duration(DefaultBreakerWindow)
	}
	if b.Cooldown == 0 {
		b.Cooldown = yamlconf.Duration(DefaultBreakerCooldown)
	}
	if u.Format == "" {
		u.Format = "json"
	}
	if a := u.Auth; a != nil && a.Type == "api_key" && a.In == "" {
		a.In = "header"
	}
}

func applyAuditDefaults(a *Audit) {
	if a.Stream == "" {
		a.Stream = DefaultAuditStream
	}
	if a.Subject == "" {
		a.Subject = DefaultAuditSubject
	}
	if a.DataDir == "" {
		a.DataDir = DefaultAuditDataDir
	}
	if a.MaxAge == 0 {
		a.MaxAge = yamlconf.Duration(DefaultAuditMaxAge)
	}
	if a.MaxBytes == 0 {
		a.MaxBytes = DefaultAuditMaxBytes
	}
	if a.Replicas == 0 {
		a.Replicas = 1
	}
	if a.Duplicates == 0 {
		a.Duplicates = yamlconf.Duration(DefaultAuditDuplicates)
	}
	if a.SpoolMaxBytes == 0 {
		a.SpoolMaxBytes = DefaultAuditSpool
	}
	if a.QueueSize == 0 {
		a.QueueSize = DefaultAuditQueue
	}
}

// authConfigured reports whether gateway.yaml authenticates callers.
func authConfigured(gw *Config) bool {
	a := gw.Auth
	return a.APIKey != nil || a.JWT != nil || a.Introspection != nil || len(gw.Consumers) > 0
}
