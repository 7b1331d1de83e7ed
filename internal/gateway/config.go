package gateway

import (
	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Config is gateway.yaml: the listeners, the upstreams and the
// gateway-wide defaults shared by every pipeline of a directory.
type Config struct {
	Server    Server               `yaml:"server"`
	Admin     Admin                `yaml:"admin"`
	Upstreams map[string]*Upstream `yaml:"upstreams"`
	Auth      Auth                 `yaml:"auth"`
	Consumers map[string]*Consumer `yaml:"consumers"`
	Defaults  Defaults             `yaml:"defaults"`
	Cache     Cache                `yaml:"cache"`
	Audit     Audit                `yaml:"audit"`
	NATS      NATS                 `yaml:"nats"`
	Cluster   *Cluster             `yaml:"cluster"` // nil: one process, not a cluster
	Telemetry Telemetry            `yaml:"telemetry"`
	Plugin    Plugin               `yaml:"plugin"`
	GraphQL   GraphQL              `yaml:"graphql"`
	MCP       MCP                  `yaml:"mcp"`

	// secrets are the values taken from the environment, so that anything
	// that prints configuration can redact them.
	secrets []string
	// fromEnv are the keys (upstreams.geo.auth.value) whose whole value
	// was one ${NAME}: where a secret is required to come from.
	fromEnv map[string]bool
	// doc is the parsed gateway.yaml, for locating keys (At).
	doc *yamlconf.Doc
	// assets are plugin.logo and plugin.legal, read at load.
	assets []Asset
	// urlFollowsListener: public_url was derived from an ephemeral listen
	// address, so it follows the port the listener gets (Bound).
	urlFollowsListener bool
}

// Server configures the public listener.
type Server struct {
	Listen      string        `yaml:"listen"`
	PublicURL   string        `yaml:"public_url"`
	MaxBody     yamlconf.Size `yaml:"max_body"`     // request body cap
	MaxResponse yamlconf.Size `yaml:"max_response"` // answer cap (GPT Actions accept 100,000 bytes)
	TLS         *TLS          `yaml:"tls"`

	// Listener limits; zero means the gateway's defaults.
	ReadHeaderTimeout yamlconf.Duration `yaml:"read_header_timeout"`
	ReadTimeout       yamlconf.Duration `yaml:"read_timeout"`
	WriteTimeout      yamlconf.Duration `yaml:"write_timeout"`
	IdleTimeout       yamlconf.Duration `yaml:"idle_timeout"`
	MaxHeaderBytes    yamlconf.Size     `yaml:"max_header_bytes"`
	// MaxConcurrent caps requests in flight (0: DefaultMaxConcurrent);
	// past it, 503.
	// Long-lived streams do not count once set up: see MaxStreams.
	MaxConcurrent int `yaml:"max_concurrent"`
	// MaxStreams caps long-lived streams (GraphQL subscriptions over
	// WebSocket or SSE, MCP event streams) open at once, and
	// MaxStreamsPerClient those of one client address; past either, 503.
	MaxStreams          int `yaml:"max_streams"`
	MaxStreamsPerClient int `yaml:"max_streams_per_client"`
	// yamlconf.Rate limits every pipeline call together, whoever makes it.
	Rate *yamlconf.Rate `yaml:"rate"`
	// TrustedProxies are the addresses (IPs or CIDRs) whose
	// X-Forwarded-For is believed when finding the client's address.
	TrustedProxies []string `yaml:"trusted_proxies"`
	CORS           *CORS    `yaml:"cors"`
}

// TLS names a certificate and key file (PEM), reloaded when they change.
// Relative paths are relative to the pipeline directory.
type TLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// CORS lets browsers on other origins call the gateway. Off unless set.
type CORS struct {
	Origins       []string          `yaml:"origins"` // "*" for any origin
	Methods       []string          `yaml:"methods"`
	Headers       []string          `yaml:"headers"`
	ExposeHeaders []string          `yaml:"expose_headers"`
	Credentials   bool              `yaml:"credentials"`
	MaxAge        yamlconf.Duration `yaml:"max_age"`
}

// Admin configures the admin listener.
type Admin struct {
	Listen string `yaml:"listen"`
	Key    string `yaml:"key"` // at least MinAdminKey characters
}

// Defaults apply to every pipeline that does not say otherwise.
type Defaults struct {
	Access *Access `yaml:"access"`
}

// Cache bounds the shared cache.
type Cache struct {
	MaxSize yamlconf.Size `yaml:"max_size"`
}

// Audit configures audit events (see internal/audit).
type Audit struct {
	NATS    string `yaml:"nats"` // "embedded", "off" or nats:// URLs (comma-separated)
	Stream  string `yaml:"stream"`
	Subject string `yaml:"subject"` // events go to <subject>.call.<pipeline> and <subject>.admin
	// DataDir holds the embedded server's JetStream store and the spool;
	// a relative path is relative to the pipeline directory.
	DataDir string `yaml:"data_dir"`
	// Listen is the embedded server's loopback address for NATS clients
	// (port 0: any free port); InProcess serves no TCP at all.
	Listen    string `yaml:"listen"`
	InProcess bool   `yaml:"in_process"`
	// Stream retention and replication.
	MaxAge     yamlconf.Duration `yaml:"max_age"`
	MaxBytes   yamlconf.Size     `yaml:"max_bytes"`
	Replicas   int               `yaml:"replicas"`
	Duplicates yamlconf.Duration `yaml:"duplicates"` // de-duplication window (Nats-Msg-Id)
	// SpoolMaxBytes bounds the disk spool used while NATS is unreachable;
	// QueueSize bounds the in-memory queue in front of the publisher.
	SpoolMaxBytes yamlconf.Size `yaml:"spool_max_bytes"`
	QueueSize     int           `yaml:"queue_size"`
	// External NATS authentication, usually from ${ENV}: a .creds file, an
	// NKEY seed file, a token, and TLS files.
	Credentials string    `yaml:"credentials"`
	NKey        string    `yaml:"nkey"`
	Token       string    `yaml:"token"`
	TLS         *AuditTLS `yaml:"tls"`
}

// AuditTLS names the files for a TLS connection to an external NATS.
type AuditTLS struct {
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Telemetry configures traces, metrics and logs.
type Telemetry struct {
	ServiceName string `yaml:"service_name"`
	Prometheus  *bool  `yaml:"prometheus"` // serve /metrics (default true)
	// OTLPEndpoint, when set, receives the traces: a URL (http:// or
	// https://; with otlp_protocol http a URL without a path gets
	// /v1/traces) or host:port (plain text, for a local collector).
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	OTLPProtocol string `yaml:"otlp_protocol"` // http (default) | grpc
	// TrustTraceparent continues the caller's W3C trace; otherwise every
	// request starts a new trace that links to the caller's.
	TrustTraceparent bool   `yaml:"trust_traceparent"`
	LogLevel         string `yaml:"log_level"` // debug | info | warn | error; --log-level wins
}

// GraphQL configures the GraphQL view at /graphql.
type GraphQL struct {
	// Introspection answers __schema and __type queries (default true);
	// GraphiQL needs it for its docs and completion.
	Introspection *bool `yaml:"introspection"`
	// MaxDepth bounds how deeply fields nest in one operation, not
	// counting introspection (0: DefaultGraphQLMaxDepth).
	MaxDepth int `yaml:"max_depth"`
	// MaxComplexity bounds an operation's cost: one per field, 100 more
	// per pipeline run (0: DefaultGraphQLMaxComplexity).
	MaxComplexity int `yaml:"max_complexity"`
	// MaxQueryBytes bounds the text of one query (POST, GET, a WebSocket
	// or SSE subscribe), checked before it is hashed, persisted or parsed
	// (0: DefaultGraphQLMaxQueryBytes).
	MaxQueryBytes yamlconf.Size `yaml:"max_query_bytes"`
	// MaxOperationsPerConnection bounds the operations active at once on
	// one WebSocket (0: DefaultGraphQLMaxOperationsPerConnection).
	MaxOperationsPerConnection int `yaml:"max_operations_per_connection"`
	// MaxSubscriptions bounds the subscriptions open at once over
	// WebSocket and SSE together, and MaxSubscriptionsPerClient those of
	// one client address (0: the defaults).
	MaxSubscriptions          int `yaml:"max_subscriptions"`
	MaxSubscriptionsPerClient int `yaml:"max_subscriptions_per_client"`
	// RunsRate bounds the work of the runs subscription: how many calls
	// it delivers per second, summed over its subscribers (a call
	// delivered to ten subscribers counts ten). Past it, calls are
	// dropped for every subscriber (nil: DefaultGraphQLRunsRate).
	RunsRate *yamlconf.Rate `yaml:"runs_rate"`
}

// Plugin is the content of /.well-known/ai-plugin.json.
type Plugin struct {
	NameForHuman        string `yaml:"name_for_human"`
	NameForModel        string `yaml:"name_for_model"`
	DescriptionForHuman string `yaml:"description_for_human"`
	DescriptionForModel string `yaml:"description_for_model"`
	ContactEmail        string `yaml:"contact_email"`
	LegalInfoURL        string `yaml:"legal_info_url"`
	LogoURL             string `yaml:"logo_url"`
	// Logo and Legal are files of the pipeline directory the gateway
	// serves itself (at LogoPath and LegalPath); they stand in for
	// logo_url and legal_info_url.
	Logo  string `yaml:"logo"`
	Legal string `yaml:"legal"`
}

// At returns gateway.yaml's display name and the YAML node of keys in it
// (nil when absent), so that checks made beside the loader (the pipeline
// package reads the upstreams' OpenAPI documents) report errors at the
// key they concern.
func (c *Config) At(keys ...string) (file string, n ast.Node) {
	if c == nil || c.doc == nil {
		return File, nil
	}
	n, _ = yamlconf.Lookup(c.doc.Body, keys...)
	return c.doc.File, n
}
