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

	// secrets are the values taken from the environment, so that anything
	// that prints configuration can redact them.
	secrets []string
	node    ast.Node
}

// Server configures the public listener.
type Server struct {
	Listen      string `yaml:"listen"`
	PublicURL   string `yaml:"public_url"`
	MaxBody     Size   `yaml:"max_body"`     // request body cap
	MaxResponse Size   `yaml:"max_response"` // answer cap (GPT Actions accept 100,000 bytes)
	TLS         *TLS   `yaml:"tls"`
}

// TLS names a certificate and key file.
type TLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Admin configures the admin listener.
type Admin struct {
	Listen string `yaml:"listen"`
	Key    string `yaml:"key"`
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
}

// Breaker configures an upstream's circuit breaker.
type Breaker struct {
	Failures int      `yaml:"failures"`
	Window   Duration `yaml:"window"`
	Cooldown Duration `yaml:"cooldown"`
}

// Auth configures how callers authenticate.
type Auth struct {
	APIKey *APIKeyAuth `yaml:"api_key"`
	JWT    *JWTAuth    `yaml:"jwt"`
}

// APIKeyAuth reads API keys from a header (and Authorization: Bearer).
type APIKeyAuth struct {
	Header string `yaml:"header"`
}

// JWTAuth validates bearer JWTs.
type JWTAuth struct {
	Issuer     string `yaml:"issuer"`
	Audience   string `yaml:"audience"`
	JWKSURL    string `yaml:"jwks_url"`
	RolesClaim string `yaml:"roles_claim"`
}

// Consumer is a known caller, identified by the SHA-256 of its API key.
type Consumer struct {
	KeySHA256 string   `yaml:"key_sha256"`
	Roles     []string `yaml:"roles"`
	Rate      *Rate    `yaml:"rate"`
}

// Defaults apply to every pipeline that does not say otherwise.
type Defaults struct {
	Access *Access `yaml:"access"`
}

// CacheConfig bounds the shared cache.
type CacheConfig struct {
	MaxSize Size `yaml:"max_size"`
}

// AuditConfig configures audit events.
type AuditConfig struct {
	NATS    string `yaml:"nats"` // "embedded", "off" or a nats:// URL
	Stream  string `yaml:"stream"`
	Subject string `yaml:"subject"`
	DataDir string `yaml:"data_dir"`
}

// Telemetry configures traces and metrics.
type Telemetry struct {
	ServiceName  string `yaml:"service_name"`
	Prometheus   *bool  `yaml:"prometheus"`
	OTLPEndpoint string `yaml:"otlp_endpoint"`
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

	// File is the file the pipeline was read from; ParamOrder and StepOrder
	// keep the order in which params and steps were written.
	File       string   `yaml:"-"`
	ParamOrder []string `yaml:"-"`
	StepOrder  []string `yaml:"-"`

	node   ast.Node
	source []byte
}

// Param is one request parameter.
type Param struct {
	In          string   `yaml:"in"`   // path | query | header
	Type        string   `yaml:"type"` // string | integer | number | boolean
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

	pattern *regexp.Regexp
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
}
