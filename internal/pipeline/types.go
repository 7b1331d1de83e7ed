package pipeline

import (
	"regexp"

	"github.com/goccy/go-yaml/ast"
)

// Gateway is gateway.yaml: the listeners, the upstreams and the
// gateway-wide defaults shared by every pipeline of a directory.
type Gateway struct {
	Server    Server               `yaml:"server"`
	Admin     Admin                `yaml:"admin"`
	Upstreams map[string]*Upstream `yaml:"upstreams"`
	Auth      Auth                 `yaml:"auth"`
	Consumers map[string]*Consumer `yaml:"consumers"`
	Defaults  Defaults             `yaml:"defaults"`
	Cache     CacheConfig          `yaml:"cache"`
	Audit     AuditConfig          `yaml:"audit"`
	Telemetry Telemetry            `yaml:"telemetry"`
	Plugin    Plugin               `yaml:"plugin"`
	GraphQL   GraphQLConfig        `yaml:"graphql"`
	MCP       MCPConfig            `yaml:"mcp"`

	// secrets are the values taken from the environment, so that anything
	// that prints configuration can redact them.
	secrets []string
	// fromEnv are the keys (upstreams.geo.auth.value) whose whole value
	// was one ${NAME}: where a secret is required to come from.
	fromEnv map[string]bool
	node    ast.Node
}

// Server configures the public listener.
type Server struct {
	Listen      string `yaml:"listen"`
	PublicURL   string `yaml:"public_url"`
	MaxBody     Size   `yaml:"max_body"`     // request body cap
	MaxResponse Size   `yaml:"max_response"` // answer cap (GPT Actions accept 100,000 bytes)
	TLS         *TLS   `yaml:"tls"`

	// Listener limits; zero means the gateway's defaults.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	WriteTimeout      Duration `yaml:"write_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	MaxHeaderBytes    Size     `yaml:"max_header_bytes"`
	// MaxConcurrent caps requests in flight (0: DefaultMaxConcurrent);
	// past it, 503.
	// Long-lived streams do not count once set up: see MaxStreams.
	MaxConcurrent int `yaml:"max_concurrent"`
	// MaxStreams caps long-lived streams (GraphQL subscriptions over
	// WebSocket or SSE, MCP event streams) open at once, and
	// MaxStreamsPerClient those of one client address; past either, 503.
	MaxStreams          int `yaml:"max_streams"`
	MaxStreamsPerClient int `yaml:"max_streams_per_client"`
	// Rate limits every pipeline call together, whoever makes it.
	Rate *Rate `yaml:"rate"`
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
	Origins       []string `yaml:"origins"` // "*" for any origin
	Methods       []string `yaml:"methods"`
	Headers       []string `yaml:"headers"`
	ExposeHeaders []string `yaml:"expose_headers"`
	Credentials   bool     `yaml:"credentials"`
	MaxAge        Duration `yaml:"max_age"`
}

// Admin configures the admin listener.
type Admin struct {
	Listen string `yaml:"listen"`
	Key    string `yaml:"key"` // at least MinAdminKey characters
}

// Upstream is one backend a pipeline step can call.
type Upstream struct {
	URL         string            `yaml:"url"`
	Kind        string            `yaml:"kind"` // http | graphql
	Timeout     Duration          `yaml:"timeout"`
	Retries     int               `yaml:"retries"`
	Breaker     Breaker           `yaml:"breaker"`
	Concurrency int               `yaml:"concurrency"`
	MaxResponse Size              `yaml:"max_response"`
	Headers     map[string]string `yaml:"headers"`
	TLS         *UpstreamTLS      `yaml:"tls"`
	// Auth is the credential sent to the upstream's own origin; Query
	// holds fixed query parameters sent with every call.
	Auth  *UpstreamAuth     `yaml:"auth"`
	Query map[string]string `yaml:"query"`
	// FollowRedirects is how many redirects a call follows (default 0: a
	// 3xx is a 502); RedirectHosts are other hosts they may lead to.
	FollowRedirects int      `yaml:"follow_redirects"`
	RedirectHosts   []string `yaml:"redirect_hosts"`
	// Format is how the upstream's answers are read: json (default), xml
	// or text; steps always see JSON.
	Format string `yaml:"format"`
	// Forwarded sends X-Forwarded-For, -Host, -Proto and Forwarded
	// (RFC 7239) to this upstream (nil: true).
	Forwarded *bool `yaml:"forwarded"`
	// ErrorDetail passes the reason an upstream gives in a JSON error
	// body on to callers, as the problem's upstream_detail (default
	// true); false keeps it to the gateway.
	ErrorDetail *bool `yaml:"error_detail"`
}

// UpstreamAuth is an upstream's credential. Its secrets (value, token,
// password, client_secret) must be written as ${ENV}: they come from the
// environment only.
type UpstreamAuth struct {
	Type         string   `yaml:"type"` // api_key | bearer | basic | oauth2_client_credentials
	In           string   `yaml:"in"`   // api_key: header (default) or query
	Name         string   `yaml:"name"` // api_key: the header or query parameter
	Value        string   `yaml:"value"`
	Token        string   `yaml:"token"`
	Username     string   `yaml:"username"`
	Password     string   `yaml:"password"`
	TokenURL     string   `yaml:"token_url"`
	ClientID     string   `yaml:"client_id"`
	ClientSecret string   `yaml:"client_secret"`
	Scopes       []string `yaml:"scopes"`
	Audience     string   `yaml:"audience"`
}

// UpstreamTLS tunes the TLS of an https upstream: a private CA, a client
// certificate for mutual TLS, the server name to verify. Paths are PEM
// files, relative to the pipeline directory.
type UpstreamTLS struct {
	CA         string `yaml:"ca"`
	Cert       string `yaml:"cert"`
	Key        string `yaml:"key"`
	ServerName string `yaml:"server_name"`
}

// Breaker configures an upstream's circuit breaker.
type Breaker struct {
	Failures int      `yaml:"failures"`
	Window   Duration `yaml:"window"`
	Cooldown Duration `yaml:"cooldown"`
}

// Auth configures how callers authenticate. Without any of it every
// caller is anonymous.
type Auth struct {
	APIKey        *APIKeyAuth        `yaml:"api_key"`
	JWT           *JWTAuth           `yaml:"jwt"`
	Introspection *IntrospectionAuth `yaml:"introspection"`
	// OAuth describes the authorization server to clients (the OpenAPI
	// security scheme and the plugin manifest); the gateway itself checks
	// the tokens with jwt or introspection.
	OAuth *OAuthFlow `yaml:"oauth"`
	// MaxFailures bounds the refused credentials one client address (an
	// IPv6 /64) may present (default DefaultMaxFailures): past it the
	// client is answered 429 before its credential is even looked at, so
	// that guessing keys or flooding the JWT verifier and the
	// introspection endpoint costs the gateway next to nothing.
	MaxFailures *Rate `yaml:"max_failures"`
}

// APIKeyAuth reads API keys from a header (and Authorization: Bearer).
// Consumers' keys are enabled even without it, in the default header.
type APIKeyAuth struct {
	Header string `yaml:"header"`
}

// JWTAuth validates bearer JWTs of one issuer, with keys from its JWKS URL
// and/or static keys, and only the algorithms listed.
type JWTAuth struct {
	Issuer     string    `yaml:"issuer"`
	Audience   string    `yaml:"audience"`
	JWKSURL    string    `yaml:"jwks_url"`
	Algorithms []string  `yaml:"algorithms"` // default: those of the configured keys' types
	Keys       []*JWTKey `yaml:"keys"`
	// RolesClaim is the claim holding roles: a name, or a dotted path into
	// nested objects ("realm_access.roles"); an array or a space-separated
	// string ("scope").
	RolesClaim  string   `yaml:"roles_claim"`
	Leeway      Duration `yaml:"leeway"`       // clock skew allowed on exp and nbf
	JWKSRefresh Duration `yaml:"jwks_refresh"` // background refresh interval
}

// JWTKey is a static verification key: an HMAC secret, or a public key
// (PEM or JWK JSON). Take secrets from the environment: ${NAME}.
type JWTKey struct {
	KID       string `yaml:"kid"`
	Secret    string `yaml:"secret"`
	PublicKey string `yaml:"public_key"`
}

// IntrospectionAuth checks opaque bearer tokens with an OAuth 2.0 token
// introspection endpoint (RFC 7662).
type IntrospectionAuth struct {
	URL          string   `yaml:"url"`
	ClientID     string   `yaml:"client_id"`
	ClientSecret string   `yaml:"client_secret"`
	RolesClaim   string   `yaml:"roles_claim"` // default: scope
	Cache        Duration `yaml:"cache"`       // how long an answer is reused
	Timeout      Duration `yaml:"timeout"`
	// Audience, when set, must be in the answer's aud: a token the same
	// authorization server issued for another API is not accepted.
	Audience string `yaml:"audience"`
	// Issuer, when set, must equal the answer's iss.
	Issuer string `yaml:"issuer"`
}

// OAuthFlow is the OAuth 2.0 authorization-code flow clients use to get
// tokens (for ChatGPT's OAuth setup).
type OAuthFlow struct {
	AuthorizationURL string            `yaml:"authorization_url"`
	TokenURL         string            `yaml:"token_url"`
	Scopes           map[string]string `yaml:"scopes"` // scope: description
}

// Consumer is a known caller, identified by the SHA-256 of its API key.
type Consumer struct {
	KeySHA256 string   `yaml:"key_sha256"`
	Roles     []string `yaml:"roles"`
	Rate      *Rate    `yaml:"rate"`
	// Claims are static claims, seen by expressions as .consumer.claims
	// like a token's.
	Claims map[string]any `yaml:"claims"`
}

// Defaults apply to every pipeline that does not say otherwise.
type Defaults struct {
	Access *Access `yaml:"access"`
}

// CacheConfig bounds the shared cache.
type CacheConfig struct {
	MaxSize Size `yaml:"max_size"`
}

// AuditConfig configures audit events (see internal/audit).
type AuditConfig struct {
	NATS    string `yaml:"nats"` // "embedded", "off" or nats:// URLs (comma-separated)
	Stream  string `yaml:"stream"`
	Subject string `yaml:"subject"` // events go to <subject>.<pipeline> and <subject>.admin
	// DataDir holds the embedded server's JetStream store and the spool;
	// a relative path is relative to the pipeline directory.
	DataDir string `yaml:"data_dir"`
	// Listen is the embedded server's loopback address for NATS clients
	// (port 0: any free port); InProcess serves no TCP at all.
	Listen    string `yaml:"listen"`
	InProcess bool   `yaml:"in_process"`
	// Stream retention and replication.
	MaxAge     Duration `yaml:"max_age"`
	MaxBytes   Size     `yaml:"max_bytes"`
	Replicas   int      `yaml:"replicas"`
	Duplicates Duration `yaml:"duplicates"` // de-duplication window (Nats-Msg-Id)
	// SpoolMaxBytes bounds the disk spool used while NATS is unreachable;
	// QueueSize bounds the in-memory queue in front of the publisher.
	SpoolMaxBytes Size `yaml:"spool_max_bytes"`
	QueueSize     int  `yaml:"queue_size"`
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

// GraphQLConfig configures the GraphQL view at /graphql.
type GraphQLConfig struct {
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
	MaxQueryBytes Size `yaml:"max_query_bytes"`
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
	RunsRate *Rate `yaml:"runs_rate"`
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
}

// Pipeline is one composite endpoint, as written in its YAML file.
type Pipeline struct {
	Name        string            `yaml:"name"`
	Summary     string            `yaml:"summary"`
	Description string            `yaml:"description"`
	Method      string            `yaml:"method"`
	Path        string            `yaml:"path"`
	Params      map[string]*Param `yaml:"params"`
	Access      *Access           `yaml:"access"`
	Body        *BodySpec         `yaml:"body"`
	Cache       Duration          `yaml:"cache"`
	Timeout     Duration          `yaml:"timeout"`
	Steps       map[string]*Step  `yaml:"steps"`
	Output      *Expr             `yaml:"output"`
	Merge       string            `yaml:"merge"` // group (default) | deep
	Truncate    *Expr             `yaml:"truncate"`
	Response    *ResponseSpec     `yaml:"response"`
	// UnknownQuery is what a query parameter not declared in params gets:
	// ignore (the default) or reject (a 400 problem naming it).
	UnknownQuery string `yaml:"unknown_query"`
	// Proxy makes the pipeline a pass-through of its one step: REST
	// callers get the upstream's status and body as they are, undecoded,
	// with the headers the step relays (see Step.RelayHeaders).
	Proxy bool `yaml:"proxy"`
	// ForwardHeaders are the caller's headers every step forwards to its
	// upstream (see forward.go); a step's own list replaces it.
	ForwardHeaders *HeaderList `yaml:"forward_headers"`
	// CacheControl is the Cache-Control header of the pipeline's complete
	// 2xx answers (see cachecontrol.go); none by default.
	CacheControl string `yaml:"cache_control"`

	// File is the file the pipeline was read from; ParamOrder and StepOrder
	// keep the order in which params and steps were written.
	File       string   `yaml:"-"`
	SHA256     string   `yaml:"-"` // hex SHA-256 of the file, to tell versions apart
	ParamOrder []string `yaml:"-"`
	StepOrder  []string `yaml:"-"`

	node   ast.Node
	source []byte
}

// Param is one request parameter. Its key in params is the name
// expressions see (.params.KEY); Name is the name on the wire, when it
// differs (a header such as X-Request-Id, a query key such as page[size]).
type Param struct {
	In          string   `yaml:"in"`   // path | query | header
	Name        string   `yaml:"name"` // wire name; default: the key
	Type        string   `yaml:"type"` // string | integer | number | boolean | array
	Description string   `yaml:"description"`
	Required    *bool    `yaml:"required"`
	Default     any      `yaml:"default"`
	Example     any      `yaml:"example"`
	Enum        []any    `yaml:"enum"`
	Minimum     *float64 `yaml:"minimum"`
	Maximum     *float64 `yaml:"maximum"`
	MinLength   *int     `yaml:"min_length"`
	MaxLength   *int     `yaml:"max_length"`
	Pattern     string   `yaml:"pattern"`
	// AllowSlashes lets a string parameter (in query or header) carry a
	// path tail such as "docs/2024/report" into a step path, where it must
	// be interpolated alone (`/files/${ .params.name }`): its segments are
	// escaped one by one. Without it, a value interpolated into a step
	// path is one segment and a `/` or `\` in it is refused. Dot segments
	// ("." or ".."), empty segments and backslashes are refused either
	// way.
	AllowSlashes bool `yaml:"allow_slashes"`
	// Items, Style, Explode, MinItems and MaxItems describe an array
	// parameter (type: array); see params_array.go.
	Items    *ParamItems `yaml:"items"`
	Style    string      `yaml:"style"`   // query: form (default); header: simple (default)
	Explode  *bool       `yaml:"explode"` // query: true (default, ?a=1&a=2) or false (?a=1,2)
	MinItems *int        `yaml:"min_items"`
	MaxItems *int        `yaml:"max_items"`

	pattern *regexp.Regexp
	item    *Param // an array's items, as a scalar parameter
	// segment is set when a step path interpolates the parameter: its
	// value is then checked to stay inside its path segment (or, with
	// AllowSlashes, inside the path) before anything runs.
	segment bool
}

// BodySpec describes the JSON request body of a non-GET pipeline.
type BodySpec struct {
	Description string         `yaml:"description"`
	Schema      map[string]any `yaml:"schema"`
}

// ResponseSpec describes the answer, for the generated OpenAPI document.
type ResponseSpec struct {
	Description string         `yaml:"description"`
	Schema      map[string]any `yaml:"schema"`
}

// Step is one upstream call (or one per element with foreach).
type Step struct {
	Upstream    string               `yaml:"upstream"`
	Needs       []string             `yaml:"needs"`
	When        *Expr                `yaml:"when"`
	Foreach     *Expr                `yaml:"foreach"`
	Concurrency int                  `yaml:"concurrency"`
	Method      string               `yaml:"method"`
	Path        *Template            `yaml:"path"`
	Query       *StepQuery           `yaml:"query"`
	Variables   *Template            `yaml:"variables"`
	Headers     map[string]*Template `yaml:"headers"`
	Body        *Template            `yaml:"body"`
	Select      *Expr                `yaml:"select"`
	Optional    bool                 `yaml:"optional"`
	Cache       Duration             `yaml:"cache"`
	Stale       *Duration            `yaml:"stale"`
	// RelayHeaders are the headers of the step's answer passed on to the
	// caller (ETag, Cache-Control, Set-Cookie...). Never hop-by-hop ones.
	RelayHeaders []string `yaml:"relay_headers"`
	// OnStatus maps an upstream's error status (400-599) to what the step
	// gives instead of failing: null (the step's result is null) or the
	// problem the pipeline answers with.
	OnStatus map[int]*StatusProblem `yaml:"on_status"`
	// ForwardHeaders replaces the pipeline's forward_headers for this
	// step (nil: the pipeline's; an empty list: none).
	ForwardHeaders *HeaderList `yaml:"forward_headers"`
}

// StatusProblem is a problem a pipeline answers with, chosen by the
// author: in on_status, or as the object given to jq's error/1.
type StatusProblem struct {
	Status int    `yaml:"status"` // 400-599
	Detail string `yaml:"detail"`
	Title  string `yaml:"title"` // default: the status text
	Type   string `yaml:"type"`  // a slug; default: from the status text
}
