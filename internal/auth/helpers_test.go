package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

const (
	testIssuer   = "https://issuer.test"
	testAudience = "manifold-test"
)

// testIssuerServer is an identity provider: signing keys and a JWKS
// endpoint that counts fetches and can be made to fail.
type testIssuerServer struct {
	t       testing.TB
	srv     *httptest.Server
	fetches atomic.Int64
	fail    atomic.Bool
	mu      sync.Mutex
	public  []jwk.Key
}

func newTestIssuer(t testing.TB) *testIssuerServer {
	t.Helper()
	is := &testIssuerServer{t: t}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		is.fetches.Add(1)
		if is.fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		set := jwk.NewSet()
		is.mu.Lock()
		for _, k := range is.public {
			_ = set.AddKey(k)
		}
		is.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(is.srv.Close)
	return is
}

// publish adds the public half of priv to the JWKS.
func (is *testIssuerServer) publish(priv jwk.Key) {
	pub, err := priv.PublicKey()
	if err != nil {
		is.t.Fatal(err)
	}
	is.mu.Lock()
	is.public = append(is.public, pub)
	is.mu.Unlock()
}

// rsaKey returns a new RSA private key as a JWK with kid.
func rsaKey(t testing.TB, kid string) (jwk.Key, *rsa.PrivateKey) {
	t.Helper()
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return withKID(t, raw, kid), raw
}

func ecKey(t testing.TB, kid string) jwk.Key {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return withKID(t, raw, kid)
}

func edKey(t testing.TB, kid string) jwk.Key {
	_, raw, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return withKID(t, raw, kid)
}

func withKID(t testing.TB, raw any, kid string) jwk.Key {
	t.Helper()
	k, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		_ = k.Set(jwk.KeyIDKey, kid)
	}
	return k
}

// claims are a token's claims; zero fields take good defaults.
type claims struct {
	iss, sub string
	aud      []string
	exp, nbf time.Time
	noExp    bool
	extra    map[string]any
}

func (c claims) build(t testing.TB) jwt.Token {
	t.Helper()
	now := time.Now()
	b := jwt.NewBuilder().Issuer(or(c.iss, testIssuer)).Subject(or(c.sub, "alice")).IssuedAt(now.Add(-time.Minute))
	if c.aud == nil {
		c.aud = []string{testAudience}
	}
	b = b.Audience(c.aud)
	if !c.noExp {
		if c.exp.IsZero() {
			c.exp = now.Add(time.Hour)
		}
		b = b.Expiration(c.exp)
	}
	if !c.nbf.IsZero() {
		b = b.NotBefore(c.nbf)
	}
	for k, v := range c.extra {
		b = b.Claim(k, v)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sign signs c with key and alg.
func sign(t testing.TB, c claims, alg jwa.SignatureAlgorithm, key any) string {
	t.Helper()
	out, err := jwt.Sign(c.build(t), jwt.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// forge builds a token by hand: header and claims as given, signed with
// HMAC-SHA256 over secret (or unsigned when secret is nil).
func forge(t testing.TB, header map[string]any, c claims, secret []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	payload, err := json.Marshal(c.build(t))
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(payload)
	if secret == nil {
		return input + "."
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + enc.EncodeToString(m.Sum(nil))
}

func publicPEM(t testing.TB, raw *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&raw.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// newAuth builds an Authenticator for gw after applying the loader's
// defaults by hand.
func newAuth(t testing.TB, gw *gateway.Config, opts Options) *Authenticator {
	t.Helper()
	a, err := New(context.Background(), gw.Auth, gw.Consumers, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func jwtGateway(jwksURL string, keys ...*gateway.JWTKey) *gateway.Config {
	algs := []string{"RS256", "ES256", "EdDSA"}
	for _, k := range keys {
		if k.Secret != "" {
			algs = append(algs, "HS256")
		}
	}
	return &gateway.Config{Auth: gateway.Auth{JWT: &gateway.JWTAuth{
		Issuer: testIssuer, Audience: testAudience, JWKSURL: jwksURL, Keys: keys,
		Algorithms: algs, RolesClaim: "realm_access.roles",
		Leeway: yamlconf.Duration(30 * time.Second), JWKSRefresh: yamlconf.Duration(time.Hour),
	}}}
}

func bearer(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}
