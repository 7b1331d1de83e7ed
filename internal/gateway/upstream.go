package gateway

import "github.com/manifoldgw/manifold/internal/yamlconf"

// Upstream is one backend a pipeline step can call.
type Upstream struct {
	URL         string            `yaml:"url"`
	Kind        string            `yaml:"kind"` // http | graphql
	Timeout     yamlconf.Duration `yaml:"timeout"`
	Retries     int               `yaml:"retries"`
	Breaker     Breaker           `yaml:"breaker"`
	Concurrency int               `yaml:"concurrency"`
	MaxResponse yamlconf.Size     `yaml:"max_response"`
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
	// OpenAPI names the upstream's OpenAPI document (a file relative to
	// the pipeline directory): steps are checked against it and their
	// answers' schemas inferred from it (see the pipeline package's
	// upstream_openapi.go).
	OpenAPI string `yaml:"openapi"`
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
	Failures int               `yaml:"failures"`
	Window   yamlconf.Duration `yaml:"window"`
	Cooldown yamlconf.Duration `yaml:"cooldown"`
	// Shared makes the breaker one for the whole cluster (cluster mode):
	// a trip on one replica opens it on all.
	Shared bool `yaml:"shared"`
}
