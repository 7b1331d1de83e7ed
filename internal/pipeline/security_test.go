package pipeline

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// TestSecurityConfig loads gateway.yaml security settings: defaults
// applied, and each mistake reported at its key.
func TestSecurityConfig(t *testing.T) {
	const pipe = "name: p\npath: /p\nsteps:\n  s: {upstream: products, path: /s}\n"
	hash := strings.Repeat("ab", 32)
	cases := []struct {
		name    string
		gateway string
		errs    []string // substrings, one per expected error; nil: loads
	}{
		{"consumers enable api keys", "consumers:\n  a: {key_sha256: " + hash + "}\n", nil},
		{"jwt with jwks", "auth:\n  jwt: {issuer: https://i.test, audience: gw, jwks_url: https://i.test/jwks}\n", nil},
		{"jwt over plain http on loopback", "auth:\n  jwt: {issuer: i, audience: gw, jwks_url: http://127.0.0.1:9/jwks}\n", nil},
		{"introspection", "auth:\n  introspection: {url: https://i.test/introspect, client_id: gw, client_secret: s}\n", nil},
		{"listener", "server:\n  trusted_proxies: [10.0.0.0/8, 192.0.2.1]\n  max_concurrent: 100\n  rate: 1000/sec\n  read_header_timeout: 2s\n  cors: {origins: [\"https://chat.openai.com\"]}\n", nil},
		{"jwt without issuer or audience", "auth:\n  jwt: {jwks_url: https://i.test/jwks}\n", []string{"auth.jwt.issuer: required", "auth.jwt.audience: required"}},
		{"jwt without keys", "auth:\n  jwt: {issuer: i, audience: a}\n", []string{"a jwks_url or static keys"}},
		{"jwks over plain http", "auth:\n  jwt: {issuer: i, audience: a, jwks_url: http://i.test/jwks}\n", []string{"auth.jwt.jwks_url: want an absolute https URL"}},
		{"alg none", "auth:\n  jwt: {issuer: i, audience: a, jwks_url: https://i.test/j, algorithms: [RS256, none]}\n", []string{`"none" is never accepted`}},
		{"HS without a secret", "auth:\n  jwt: {issuer: i, audience: a, jwks_url: https://i.test/j, algorithms: [HS256]}\n", []string{"HS256 needs a static key with a secret"}},
		{"short HS secret", "auth:\n  jwt: {issuer: i, audience: a, keys: [{secret: short}]}\n", []string{"at least 32 bytes"}},
		{"key with secret and public key", "auth:\n  jwt: {issuer: i, audience: a, keys: [{secret: " + strings.Repeat("s", 32) + ", public_key: x}]}\n", []string{"exactly one of secret or public_key"}},
		{"huge leeway", "auth:\n  jwt: {issuer: i, audience: a, jwks_url: https://i.test/j, leeway: 1h}\n", []string{"auth.jwt.leeway"}},
		{"two consumers, one key", "consumers:\n  a: {key_sha256: " + hash + "}\n  b: {key_sha256: " + strings.ToUpper(hash) + "}\n", []string{"the same key as consumer a"}},
		{"api key in Authorization", "auth:\n  api_key: {header: Authorization}\n", []string{"name another header"}},
		{"bad trusted proxy", "server:\n  trusted_proxies: [proxy.local]\n", []string{"server.trusted_proxies"}},
		{"cors star with credentials", "server:\n  cors: {origins: [\"*\"], credentials: true}\n", []string{"cannot be combined with credentials"}},
		{"cors origin with a path", "server:\n  cors: {origins: [\"https://a.test/app\"]}\n", []string{"want \"*\" or an origin"}},
		{"upstream tls on http", "upstreams:\n  x: {url: http://x.test, tls: {ca: ca.pem}}\n", []string{"need an https:// url"}},
		{"upstream cert without key", "upstreams:\n  x: {url: https://x.test, tls: {cert: c.pem}}\n", []string{"needs both cert and key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gw := minimalGateway + c.gateway
			if strings.HasPrefix(c.gateway, "upstreams:") {
				gw = "upstreams:\n  products: {url: \"http://products.test/\"}\n" + strings.TrimPrefix(c.gateway, "upstreams:\n")
			}
			_, err := Load(mapFS(map[string]string{"gateway.yaml": gw, "p.yaml": pipe}), "", LoadOptions{LookupEnv: lookupTestEnv})
			var errs yamlconf.Errors
			errors.As(err, &errs)
			if len(c.errs) == 0 && err != nil {
				t.Fatalf("unexpected errors: %v", err)
			}
			if len(errs) != len(c.errs) {
				t.Fatalf("got %d errors, want %d: %v", len(errs), len(c.errs), err)
			}
			for i, want := range c.errs {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %d: %q, want it to say %q", i, errs[i].Error(), want)
				}
			}
		})
	}
}

func TestSecurityDefaults(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	plan := load(t, map[string]string{
		"gateway.yaml": minimalGateway + "consumers:\n  a: {key_sha256: " + hash + "}\nauth:\n" +
			"  jwt: {issuer: i, audience: a, jwks_url: https://i.test/j, keys: [{secret: " + strings.Repeat("s", 32) + "}]}\n" +
			"  introspection: {url: https://i.test/in}\nserver:\n  cors: {origins: [\"*\"]}\n",
		"p.yaml": "name: p\npath: /p\naccess: {public: true, rate: 5/sec}\nsteps:\n  s: {upstream: products, path: /s}\n",
	})
	a := plan.Gateway.Auth
	if a.APIKey == nil || a.APIKey.Header != "X-API-Key" {
		t.Errorf("api_key = %+v, want enabled in X-API-Key", a.APIKey)
	}
	if j := a.JWT; j.RolesClaim != "roles" || j.Leeway.D() != 30*time.Second || !slices.Contains(j.Algorithms, "RS256") || !slices.Contains(j.Algorithms, "HS256") || slices.Contains(j.Algorithms, "none") {
		t.Errorf("jwt defaults = %+v", j)
	}
	if i := a.Introspection; i.RolesClaim != "scope" || i.Cache.D() != 30*time.Second {
		t.Errorf("introspection defaults = %+v", i)
	}
	if c := plan.Gateway.Server.CORS; !slices.Contains(c.Headers, "X-API-Key") || c.MaxAge.D() != 10*time.Minute {
		t.Errorf("cors defaults = %+v", c)
	}
	if acc := plan.Pipeline("p").Access; !acc.Public || acc.Rate == nil || acc.Rate.Count != 5 {
		t.Errorf("access {public: true, rate: 5/sec} = %+v", acc)
	}
}
