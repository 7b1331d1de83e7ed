package gateway

import "github.com/manifoldgw/manifold/internal/yamlconf"

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
	MaxFailures *yamlconf.Rate `yaml:"max_failures"`
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
	RolesClaim  string            `yaml:"roles_claim"`
	Leeway      yamlconf.Duration `yaml:"leeway"`       // clock skew allowed on exp and nbf
	JWKSRefresh yamlconf.Duration `yaml:"jwks_refresh"` // background refresh interval
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
	URL          string            `yaml:"url"`
	ClientID     string            `yaml:"client_id"`
	ClientSecret string            `yaml:"client_secret"`
	RolesClaim   string            `yaml:"roles_claim"` // default: scope
	Cache        yamlconf.Duration `yaml:"cache"`       // how long an answer is reused
	Timeout      yamlconf.Duration `yaml:"timeout"`
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
	KeySHA256 string         `yaml:"key_sha256"`
	Roles     []string       `yaml:"roles"`
	Rate      *yamlconf.Rate `yaml:"rate"`
	// Claims are static claims, seen by expressions as .consumer.claims
	// like a token's.
	Claims map[string]any `yaml:"claims"`
}
