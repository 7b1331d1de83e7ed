package gateway

import (
	"encoding/json"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// Security defaults, applied by applySecurityDefaults.
const (
	DefaultAPIKeyHeader       = "X-API-Key"
	DefaultRolesClaim         = "roles"
	DefaultScopeClaim         = "scope"
	DefaultJWTLeeway          = 30 * time.Second
	MaxJWTLeeway              = 5 * time.Minute
	DefaultJWKSRefresh        = 15 * time.Minute
	DefaultIntrospectionCache = 30 * time.Second
	DefaultIntrospectionWait  = 3 * time.Second
	DefaultCORSMaxAge         = 10 * time.Minute
	// MinHMACSecret is the shortest HS secret accepted: RFC 7518, section
	// 3.2, wants at least the hash's size (32 bytes for HS256).
	MinHMACSecret = 32
	// MinAdminKey is the shortest admin.key accepted: the admin API can
	// reload, purge and force breakers, so its key must not be guessable.
	MinAdminKey = 24
	// DefaultMaxFailures is auth.max_failures: the refused credentials
	// allowed per client address.
	DefaultMaxFailures = "20/min"
)

// Signature algorithms by key family. "none" is never accepted.
var (
	asymmetricAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	hmacAlgs       = []string{"HS256", "HS384", "HS512"}
)

// IsHMACAlg reports whether alg is an HS algorithm (a shared secret).
func IsHMACAlg(alg string) bool { return strings.HasPrefix(alg, "HS") }

func applySecurityDefaults(gw *Config) {
	a := &gw.Auth
	if a.MaxFailures == nil {
		r, _ := yamlconf.ParseRate(DefaultMaxFailures) // a constant known to parse
		a.MaxFailures = &r
	}
	if a.APIKey == nil && len(gw.Consumers) > 0 {
		a.APIKey = &APIKeyAuth{}
	}
	if a.APIKey != nil && a.APIKey.Header == "" {
		a.APIKey.Header = DefaultAPIKeyHeader
	}
	if j := a.JWT; j != nil {
		if j.RolesClaim == "" {
			j.RolesClaim = DefaultRolesClaim
		}
		if j.Leeway == 0 {
			j.Leeway = yamlconf.Duration(DefaultJWTLeeway)
		}
		if j.JWKSRefresh == 0 {
			j.JWKSRefresh = yamlconf.Duration(DefaultJWKSRefresh)
		}
		if len(j.Algorithms) == 0 {
			j.Algorithms = defaultAlgorithms(j)
		}
	}
	if i := a.Introspection; i != nil {
		if i.RolesClaim == "" {
			i.RolesClaim = DefaultScopeClaim
		}
		if i.Cache == 0 {
			i.Cache = yamlconf.Duration(DefaultIntrospectionCache)
		}
		if i.Timeout == 0 {
			i.Timeout = yamlconf.Duration(DefaultIntrospectionWait)
		}
	}
	if c := gw.Server.CORS; c != nil {
		if len(c.Methods) == 0 {
			c.Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
		}
		if len(c.Headers) == 0 {
			c.Headers = []string{"Content-Type", "Authorization", DefaultAPIKeyHeader}
			if a.APIKey != nil && !strings.EqualFold(a.APIKey.Header, DefaultAPIKeyHeader) {
				c.Headers = append(c.Headers, a.APIKey.Header)
			}
		}
		if c.MaxAge == 0 {
			c.MaxAge = yamlconf.Duration(DefaultCORSMaxAge)
		}
	}
}

// defaultAlgorithms are the algorithms of the families of j's keys: a
// token's algorithm must still match the type of the key it names.
func defaultAlgorithms(j *JWTAuth) []string {
	var asym, hmac bool
	asym = j.JWKSURL != ""
	for _, k := range j.Keys {
		if k == nil {
			continue
		}
		asym = asym || k.PublicKey != ""
		hmac = hmac || k.Secret != ""
	}
	var out []string
	if asym {
		out = append(out, asymmetricAlgs...)
	}
	if hmac {
		out = append(out, hmacAlgs...)
	}
	return out
}

// resolveTLSPaths makes the certificate paths of server.tls and upstream
// tls relative to the pipeline directory dir rather than to wherever the
// gateway happens to be started.
func resolveTLSPaths(gw *Config, dir string) {
	abs := func(p *string) {
		if *p != "" && dir != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if t := gw.Server.TLS; t != nil {
		abs(&t.Cert)
		abs(&t.Key)
	}
	for _, u := range gw.Upstreams {
		if t := u.TLS; t != nil {
			abs(&t.CA)
			abs(&t.Cert)
			abs(&t.Key)
		}
	}
}

// validateSecurity checks auth, consumers and the listener's security
// settings. at locates a key path as validate does.
func (l *loader) validateSecurity(d *yamlconf.Doc, gw *Config, at func(keys ...string) ast.Node) {
	errorf := func(keys []string, format string, args ...any) {
		l.Errorf(d.File, at(keys...), strings.Join(keys, "."), format, args...)
	}
	a := gw.Auth
	if a.APIKey != nil && !headerName(a.APIKey.Header) {
		errorf([]string{"auth", "api_key", "header"}, "%q is not a header name", a.APIKey.Header)
	} else if a.APIKey != nil && strings.EqualFold(a.APIKey.Header, "Authorization") {
		errorf([]string{"auth", "api_key", "header"}, "Authorization: Bearer <key> is always accepted; name another header")
	}
	validateConsumers(gw, errorf)
	if k := gw.Admin.Key; k != "" && len(k) < MinAdminKey {
		errorf([]string{"admin", "key"}, "%d characters is too short: an admin key needs at least %d (generate one with `openssl rand -hex 16`)", len(k), MinAdminKey)
	}
	if a.JWT != nil {
		validateJWT(a.JWT, errorf)
	}
	if i := a.Introspection; i != nil && !secureURL(i.URL) {
		errorf([]string{"auth", "introspection", "url"}, "want an absolute https URL (http only on loopback)")
	}
	if o := a.OAuth; o != nil {
		for key, u := range map[string]string{"authorization_url": o.AuthorizationURL, "token_url": o.TokenURL} {
			if !absoluteURL(u) {
				errorf([]string{"auth", "oauth", key}, "want an absolute http(s) URL")
			}
		}
	}
	validateListener(gw, errorf)
	for name, u := range gw.Upstreams {
		t := u.TLS
		switch {
		case t == nil:
		case (t.Cert == "") != (t.Key == ""):
			errorf([]string{"upstreams", name, "tls"}, "a client certificate needs both cert and key")
		case !strings.HasPrefix(u.URL, "https://"):
			errorf([]string{"upstreams", name, "tls"}, "tls options need an https:// url")
		}
	}
}

func validateConsumers(gw *Config, errorf func([]string, string, ...any)) {
	names := make([]string, 0, len(gw.Consumers))
	for name := range gw.Consumers {
		names = append(names, name)
	}
	sort.Strings(names)
	byHash := map[string]string{}
	for _, name := range names {
		c := gw.Consumers[name]
		h := strings.ToLower(c.KeySHA256)
		if other, dup := byHash[h]; dup && h != "" {
			errorf([]string{"consumers", name, "key_sha256"}, "the same key as consumer %s: every consumer needs its own key", other)
		}
		byHash[h] = name
		for _, r := range c.Roles {
			if strings.TrimSpace(r) == "" {
				errorf([]string{"consumers", name, "roles"}, "roles must not be empty")
			}
		}
		if _, err := json.Marshal(c.Claims); err != nil {
			errorf([]string{"consumers", name, "claims"}, "claims must be JSON values (string keys): %v", err)
		}
	}
}

func validateJWT(j *JWTAuth, errorf func([]string, string, ...any)) {
	key := func(k ...string) []string { return append([]string{"auth", "jwt"}, k...) }
	if j.Issuer == "" {
		errorf(key("issuer"), "required: tokens of other issuers are refused")
	}
	if j.Audience == "" {
		errorf(key("audience"), "required: a token must be meant for this gateway")
	}
	if j.JWKSURL == "" && len(j.Keys) == 0 {
		errorf(key("jwks_url"), "a jwks_url or static keys are needed to verify tokens")
	}
	if j.JWKSURL != "" && !secureURL(j.JWKSURL) {
		errorf(key("jwks_url"), "want an absolute https URL (http only on loopback)")
	}
	if j.Leeway.D() > MaxJWTLeeway {
		errorf(key("leeway"), "%s is more than %s: tokens would outlive their expiry", j.Leeway.D(), MaxJWTLeeway)
	}
	var asym, hmac bool
	asym = j.JWKSURL != ""
	for i, k := range j.Keys {
		at := key("keys")
		switch {
		case k == nil || (k.Secret == "") == (k.PublicKey == ""):
			errorf(at, "keys[%d]: want exactly one of secret or public_key", i)
		case k.Secret != "" && len(k.Secret) < MinHMACSecret:
			errorf(at, "keys[%d]: an HMAC secret needs at least %d bytes", i, MinHMACSecret)
		case k.PublicKey != "" && !strings.HasPrefix(strings.TrimSpace(k.PublicKey), "-----BEGIN") && !strings.HasPrefix(strings.TrimSpace(k.PublicKey), "{"):
			errorf(at, "keys[%d]: public_key must be PEM or a JWK (JSON)", i)
		}
		if k != nil {
			asym = asym || k.PublicKey != ""
			hmac = hmac || k.Secret != ""
		}
	}
	for _, alg := range j.Algorithms {
		switch {
		case strings.EqualFold(alg, "none"):
			errorf(key("algorithms"), "%q is never accepted: unsigned tokens prove nothing", alg)
		case !slices.Contains(asymmetricAlgs, alg) && !slices.Contains(hmacAlgs, alg):
			errorf(key("algorithms"), "unknown algorithm %q (known: %s, %s)", alg, strings.Join(asymmetricAlgs, ", "), strings.Join(hmacAlgs, ", "))
		case IsHMACAlg(alg) && !hmac:
			errorf(key("algorithms"), "%s needs a static key with a secret", alg)
		case !IsHMACAlg(alg) && !asym:
			errorf(key("algorithms"), "%s needs a jwks_url or a static public_key", alg)
		}
	}
}

func validateListener(gw *Config, errorf func([]string, string, ...any)) {
	s := gw.Server
	for _, p := range s.TrustedProxies {
		if _, err := ParseAddrOrPrefix(p); err != nil {
			errorf([]string{"server", "trusted_proxies"}, "%q is not an IP address or CIDR prefix", p)
		}
	}
	if s.MaxConcurrent < 0 {
		errorf([]string{"server", "max_concurrent"}, "must not be negative")
	}
	if s.MaxStreams < 0 {
		errorf([]string{"server", "max_streams"}, "must not be negative")
	}
	if s.MaxStreamsPerClient < 0 || s.MaxStreamsPerClient > s.MaxStreams {
		errorf([]string{"server", "max_streams_per_client"}, "must be between 0 and max_streams (%d)", s.MaxStreams)
	}
	if c := s.CORS; c != nil {
		if len(c.Origins) == 0 {
			errorf([]string{"server", "cors", "origins"}, "required: the origins allowed, or \"*\"")
		}
		for _, o := range c.Origins {
			u, err := url.Parse(o)
			switch {
			case o == "*" && c.Credentials:
				errorf([]string{"server", "cors", "origins"}, "\"*\" cannot be combined with credentials: true; list the origins")
			case o == "*":
			case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/"):
				errorf([]string{"server", "cors", "origins"}, "%q: want \"*\" or an origin such as https://chat.openai.com", o)
			}
		}
	}
}

// ParseAddrOrPrefix parses an IP address or a CIDR prefix (an address is
// a prefix of its full length).
func ParseAddrOrPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// secureURL reports whether s is an absolute https URL, or http on a
// loopback host (tests, sidecars).
func secureURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	host := u.Hostname()
	ip, err := netip.ParseAddr(host)
	return u.Scheme == "http" && (host == "localhost" || (err == nil && ip.IsLoopback()))
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// headerName reports whether s is an HTTP field name (RFC 9110 token).
func headerName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 126 || c <= 32 || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", c) {
			return false
		}
	}
	return true
}
