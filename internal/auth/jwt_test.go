package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

const hsSecret = "0123456789abcdef0123456789abcdef-hs-secret"

// TestJWT runs good and forged tokens against one issuer with a JWKS (RSA,
// EC and Ed25519 keys) and a static HS256 secret.
func TestJWT(t *testing.T) {
	is := newTestIssuer(t)
	rsaPriv, rsaRaw := rsaKey(t, "k1")
	ecPriv, edPriv := ecKey(t, "ec1"), edKey(t, "ed1")
	for _, k := range []jwk.Key{rsaPriv, ecPriv, edPriv} {
		is.publish(k)
	}
	rogue, _ := rsaKey(t, "rogue")
	hs, err := jwk.Import([]byte(hsSecret))
	if err != nil {
		t.Fatal(err)
	}
	_ = hs.Set(jwk.KeyIDKey, "hs1")
	a := newAuth(t, jwtGateway(is.srv.URL, &gateway.JWTKey{KID: "hs1", Secret: hsSecret}), Options{})
	rsOnly := newAuth(t, jwtGateway(is.srv.URL), Options{})

	now := time.Now()
	roles := map[string]any{"realm_access": map[string]any{"roles": []string{"buyer", "reader"}}}
	good := claims{extra: roles}
	rsaPub := publicPEM(t, rsaRaw)
	cases := []struct {
		name   string
		auth   *Authenticator
		token  string
		reason string // "" means accepted
	}{
		{"RS256 from the JWKS", a, sign(t, good, jwa.RS256(), rsaPriv), ""},
		{"ES256 from the JWKS", a, sign(t, good, jwa.ES256(), ecPriv), ""},
		{"EdDSA from the JWKS", a, sign(t, good, jwa.EdDSA(), edPriv), ""},
		{"HS256 with the static secret", a, sign(t, good, jwa.HS256(), hs), ""},
		{"expired within the leeway", a, sign(t, claims{exp: now.Add(-10 * time.Second), extra: roles}, jwa.RS256(), rsaPriv), ""},
		{"expired", a, sign(t, claims{exp: now.Add(-2 * time.Minute)}, jwa.RS256(), rsaPriv), "expired"},
		{"not yet valid", a, sign(t, claims{nbf: now.Add(5 * time.Minute)}, jwa.RS256(), rsaPriv), "not valid yet"},
		{"wrong audience", a, sign(t, claims{aud: []string{"another-api"}}, jwa.RS256(), rsaPriv), "(aud)"},
		{"wrong issuer", a, sign(t, claims{iss: "https://evil.test"}, jwa.RS256(), rsaPriv), "(iss)"},
		{"no expiry", a, sign(t, claims{noExp: true}, jwa.RS256(), rsaPriv), "(exp)"},
		{"alg none", a, forge(t, map[string]any{"alg": "none", "kid": "k1"}, good, nil), "algorithm"},
		{"HS256 signed with the RSA public key", a, forge(t, map[string]any{"alg": "HS256", "kid": "k1"}, good, []byte(rsaPub)), "unknown key"},
		{"HS256 where only RS is pinned", rsOnly, forge(t, map[string]any{"alg": "HS256", "kid": "k1"}, good, []byte(rsaPub)), "algorithm"},
		{"RS256 claiming the HS kid", a, forge(t, map[string]any{"alg": "RS256", "kid": "hs1"}, good, []byte(hsSecret)), "unknown key"},
		{"unknown kid", a, sign(t, good, jwa.RS256(), rogue), "unknown key"},
		{"tampered claims", a, tamper(sign(t, good, jwa.RS256(), rsaPriv)), "not a valid"},
		{"not a JWT", a, "a.b.c", "not a valid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := c.auth.Authenticate(bearer(c.token))
			if c.reason == "" {
				if err != nil || id == nil || id.Name != "alice" || !slices.Equal(id.Roles, []string{"buyer", "reader"}) {
					t.Fatalf("got %+v, %v; want alice with roles buyer, reader", id, err)
				}
				return
			}
			var pe *problem.Error
			var f *Failure
			if !errors.As(err, &pe) || pe.P.Status != 401 || !errors.As(err, &f) {
				t.Fatalf("got %+v, %v; want a 401 with a challenge", id, err)
			}
			if !strings.Contains(pe.P.Detail, c.reason) || !strings.Contains(f.WWWAuthenticate(), `error="invalid_token"`) {
				t.Errorf("detail %q, challenge %q; want the reason %q", pe.P.Detail, f.WWWAuthenticate(), c.reason)
			}
		})
	}
}

// tamper changes a signed token's claims, keeping its signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	parts[1] = parts[1][:len(parts[1])-2] + "xx"
	return strings.Join(parts, ".")
}

// TestJWKSLifecycle: a rotated key is fetched on first sight of its kid,
// unknown kids refetch at most once per interval, and an outage keeps the
// last good keys.
func TestJWKSLifecycle(t *testing.T) {
	is := newTestIssuer(t)
	k1, _ := rsaKey(t, "k1")
	is.publish(k1)
	a := newAuth(t, jwtGateway(is.srv.URL), Options{RefetchEvery: time.Hour})
	if _, err := a.Authenticate(bearer(sign(t, claims{}, jwa.RS256(), k1))); err != nil {
		t.Fatalf("first key: %v", err)
	}
	before := is.fetches.Load()

	k2, _ := rsaKey(t, "k2")
	is.publish(k2)
	if _, err := a.Authenticate(bearer(sign(t, claims{}, jwa.RS256(), k2))); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if got := is.fetches.Load() - before; got != 1 {
		t.Errorf("rotation made %d fetches, want 1", got)
	}

	rogue, _ := rsaKey(t, "rogue")
	for range 5 {
		if _, err := a.Authenticate(bearer(sign(t, claims{}, jwa.RS256(), rogue))); err == nil {
			t.Fatal("unknown kid accepted")
		}
	}
	if got := is.fetches.Load() - before; got != 1 {
		t.Errorf("after 5 unknown kids: %d fetches in all, want still 1 (refetches are rate-limited)", got)
	}

	is.fail.Store(true)
	if _, err := a.cur.Load().jwt.jwks.cache.Refresh(t.Context(), is.srv.URL); err == nil {
		t.Fatal("refresh during the outage succeeded")
	}
	if _, err := a.Authenticate(bearer(sign(t, claims{sub: "after-the-outage"}, jwa.RS256(), k1))); err != nil {
		t.Errorf("during a JWKS outage the last good keys must still verify: %v", err)
	}
}

// TestJWKSBackgroundRefresh: the JWKS is refetched on its own schedule.
func TestJWKSBackgroundRefresh(t *testing.T) {
	is := newTestIssuer(t)
	k1, _ := rsaKey(t, "k1")
	is.publish(k1)
	gw := jwtGateway(is.srv.URL)
	gw.Auth.JWT.JWKSRefresh = yamlconf.Duration(time.Second)
	newAuth(t, gw, Options{})
	deadline := time.Now().Add(10 * time.Second)
	for is.fetches.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d fetches in 10s with a 1s refresh, want at least 3", is.fetches.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStaticPublicKey verifies with a PEM public key and no JWKS.
func TestStaticPublicKey(t *testing.T) {
	k, raw := rsaKey(t, "")
	gw := jwtGateway("", &gateway.JWTKey{PublicKey: publicPEM(t, raw)})
	a := newAuth(t, gw, Options{})
	id, err := a.Authenticate(bearer(sign(t, claims{sub: "svc"}, jwa.RS256(), k)))
	if err != nil || id.Name != "svc" {
		t.Fatalf("got %+v, %v", id, err)
	}
}

// TestVerifiedCache: a verified token is recognised again without its
// signature being checked, but never past its expiry.
func TestVerifiedCache(t *testing.T) {
	is := newTestIssuer(t)
	k1, _ := rsaKey(t, "k1")
	is.publish(k1)
	now := time.Now()
	a := newAuth(t, jwtGateway(is.srv.URL), Options{Now: func() time.Time { return now }})
	tok := sign(t, claims{exp: now.Add(20 * time.Second)}, jwa.RS256(), k1)
	if _, err := a.Authenticate(bearer(tok)); err != nil {
		t.Fatal(err)
	}
	if len(a.cur.Load().jwt.verified.m) != 1 {
		t.Fatalf("%d cached tokens after one verification, want 1", len(a.cur.Load().jwt.verified.m))
	}
	now = now.Add(15 * time.Second)
	if _, err := a.Authenticate(bearer(tok)); err != nil {
		t.Errorf("cached token refused: %v", err)
	}
	now = now.Add(time.Minute) // past exp and the leeway
	if _, err := a.Authenticate(bearer(tok)); status(err) != 401 {
		t.Errorf("expired token after caching: %v, want 401", err)
	}
}
