package auth

import (
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/manifoldgw/manifold/internal/gateway"
)

// Benchmarks of what authentication adds to a request: microseconds.

func BenchmarkAPIKey(b *testing.B) {
	gw := apiKeyGateway()
	for i := range 20 { // a gateway with a few dozen consumers
		gw.Consumers["c"+itoa(int64(i+1))] = &gateway.Consumer{KeySHA256: HashKey("k" + itoa(int64(i+1)))}
	}
	a := newAuth(b, gw, Options{})
	r := withKey("buyer-key")
	b.ReportAllocs()
	for b.Loop() {
		if id, err := a.Authenticate(r); err != nil || id == nil {
			b.Fatal(err)
		}
	}
}

// benchJWT measures a token's full check (signature, claims, roles) as
// for a token seen for the first time.
func benchJWT(b *testing.B, alg jwa.SignatureAlgorithm, key jwk.Key, gw *gateway.Config) {
	a := newAuth(b, gw, Options{})
	tok := sign(b, claims{extra: map[string]any{"realm_access": map[string]any{"roles": []string{"buyer"}}}}, alg, key)
	b.ReportAllocs()
	for b.Loop() {
		if id, _, err := a.cur.Load().jwt.check(b.Context(), tok); err != nil || id == nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWT(b *testing.B) {
	is := newTestIssuer(b)
	rsa, _ := rsaKey(b, "k1")
	ec, ed := ecKey(b, "ec1"), edKey(b, "ed1")
	for _, k := range []jwk.Key{rsa, ec, ed} {
		is.publish(k)
	}
	hs, _ := jwk.Import([]byte(hsSecret))
	_ = hs.Set(jwk.KeyIDKey, "hs1")
	gw := jwtGateway(is.srv.URL, &gateway.JWTKey{KID: "hs1", Secret: hsSecret})
	b.Run("RS256", func(b *testing.B) { benchJWT(b, jwa.RS256(), rsa, gw) })
	b.Run("ES256", func(b *testing.B) { benchJWT(b, jwa.ES256(), ec, gw) })
	b.Run("EdDSA", func(b *testing.B) { benchJWT(b, jwa.EdDSA(), ed, gw) })
	b.Run("HS256", func(b *testing.B) { benchJWT(b, jwa.HS256(), hs, gw) })
	b.Run("RS256-again", func(b *testing.B) { // the same token again: recognised by its hash
		a := newAuth(b, gw, Options{})
		r := bearer(sign(b, claims{}, jwa.RS256(), rsa))
		b.ReportAllocs()
		for b.Loop() {
			if id, err := a.Authenticate(r); err != nil || id == nil {
				b.Fatal(err)
			}
		}
	})
}
