package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/refusal"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// TestJWKSOctKeyNeverVerifies is the attack of an issuer (or whoever can
// serve the JWKS) publishing a symmetric key: with a static HS secret
// configured, HS256 is accepted, and a token HMAC-signed with the public
// oct key must still be refused, with or without its kid.
func TestJWKSOctKeyNeverVerifies(t *testing.T) {
	is := newTestIssuer(t)
	rsaPriv, _ := rsaKey(t, "k1")
	is.publish(rsaPriv)
	oct, err := jwk.Import([]byte("this-secret-is-public-in-the-jwks-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	_ = oct.Set(jwk.KeyIDKey, "shared")
	is.mu.Lock()
	is.public = append(is.public, oct) // served as is: {"kty":"oct","k":...}
	is.mu.Unlock()
	a := newAuth(t, jwtGateway(is.srv.URL, &gateway.JWTKey{KID: "hs1", Secret: hsSecret}), Options{})

	withKid := sign(t, claims{}, jwa.HS256(), oct)
	noKid, err := jwk.Import([]byte("this-secret-is-public-in-the-jwks-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"kid of the oct key": withKid, "no kid": sign(t, claims{}, jwa.HS256(), noKid)} {
		if id, err := a.Authenticate(bearer(tok)); status(err) != 401 {
			t.Errorf("%s: HS256 signed with the JWKS's oct key got %+v, %v; want 401", name, id, err)
		}
	}
	if _, err := a.Authenticate(bearer(sign(t, claims{}, jwa.RS256(), rsaPriv))); err != nil {
		t.Errorf("the JWKS's RSA key no longer verifies: %v", err)
	}
}

// TestMaxFailures is the attack of one address trying credentials: after
// auth.max_failures refused ones it is answered 429 with Retry-After,
// even with a good key, and before any introspection request is made;
// another address is unaffected, an IPv6 /64 is one address, and each
// refusal is counted.
func TestMaxFailures(t *testing.T) {
	var introspected atomic.Int64
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		introspected.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"active":false}`))
	}))
	defer idp.Close()
	gw := apiKeyGateway()
	gw.Auth.Introspection = &gateway.IntrospectionAuth{URL: idp.URL, Cache: yamlconf.Duration(time.Minute), Timeout: yamlconf.Duration(time.Second)}
	gw.Auth.MaxFailures = &yamlconf.Rate{Count: 3, Per: time.Minute, Burst: 3}
	now := time.Unix(1_700_000_000, 0)
	counts := &refusal.Counts{}
	a := newAuth(t, gw, Options{Now: func() time.Time { return now }, Refusals: counts})
	from := func(ip string, r *http.Request) *http.Request { r.RemoteAddr = ip + ":4242"; return r }

	for i := range 3 {
		if _, err := a.Authenticate(from("203.0.113.9", bearer("guess-"+strconv.Itoa(i)))); status(err) != 401 {
			t.Fatalf("guess %d: %v, want 401", i+1, err)
		}
	}
	if introspected.Load() != 3 {
		t.Fatalf("%d introspections for 3 guesses", introspected.Load())
	}
	for i, r := range []*http.Request{bearer("guess-4"), withKey("buyer-key")} {
		_, err := a.Authenticate(from("203.0.113.9", r))
		var pe *problem.Error
		if !errors.As(err, &pe) || pe.P.Status != 429 || pe.P.RetryAfter != 20 || !errors.Is(err, ErrTooManyFailures) {
			t.Fatalf("attempt %d over the budget: %v, want a 429 with Retry-After 20", i+4, err)
		}
		if want := "too many refused credentials from this address: auth.max_failures allows 3/1m0s; retry in 20s"; pe.P.Detail != want {
			t.Errorf("detail %q, want %q", pe.P.Detail, want)
		}
	}
	if introspected.Load() != 3 {
		t.Errorf("a client over its budget still cost %d introspections, want none", introspected.Load()-3)
	}
	if got := counts.Get(LimitMaxFailures); got != 2 {
		t.Errorf("%d refusals counted under %s, want 2", got, LimitMaxFailures)
	}
	if id, err := a.Authenticate(from("203.0.113.10", withKey("buyer-key"))); err != nil || id == nil {
		t.Errorf("another address: %+v, %v; want the buyer", id, err)
	}
	if id, err := a.Authenticate(from("203.0.113.9", httptest.NewRequest(http.MethodGet, "/", nil))); id != nil || err != nil {
		t.Errorf("an anonymous request from the address: %+v, %v; want anonymous (no credential, nothing to refuse)", id, err)
	}

	for i := range 3 {
		_, _ = a.Authenticate(from("2001:db8:1:2::"+strconv.Itoa(i+1), withKey("wrong")))
	}
	if _, err := a.Authenticate(from("2001:db8:1:2:ffff::1", withKey("buyer-key"))); status(err) != 429 {
		t.Errorf("another address of the same /64: %v, want 429", err)
	}

	now = now.Add(20 * time.Second)
	if id, err := a.Authenticate(from("203.0.113.9", withKey("buyer-key"))); err != nil || id == nil {
		t.Errorf("after Retry-After: %+v, %v; want the buyer", id, err)
	}
}

// TestIdentitySources: every identity says which credential vouched for
// it, and token identities carry their expiry.
func TestIdentitySources(t *testing.T) {
	is := newTestIssuer(t)
	k1, _ := rsaKey(t, "k1")
	is.publish(k1)
	gw := jwtGateway(is.srv.URL)
	gw.Auth.APIKey, gw.Consumers = apiKeyGateway().Auth.APIKey, apiKeyGateway().Consumers
	a := newAuth(t, gw, Options{})
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	tok, err := a.Authenticate(bearer(sign(t, claims{sub: "buyer", exp: exp}, jwa.RS256(), k1)))
	if err != nil || tok.Source != pipeline.IdentityJWT || !tok.Expires.Equal(exp) || tok.Key() != "jwt:buyer" {
		t.Fatalf("JWT identity %+v, %v; want source jwt, expiry %v", tok, err, exp)
	}
	key, err := a.Authenticate(withKey("buyer-key"))
	if err != nil || key.Source != pipeline.IdentityKey || !key.Expires.IsZero() || key.Key() != "key:buyer" {
		t.Fatalf("API-key identity %+v, %v; want source key, no expiry", key, err)
	}
	if a.ConsumerRate(tok) != nil {
		t.Error("a JWT whose subject is a consumer's name got the consumer's rate")
	}
}

// TestStillValid: after a reload an API-key identity stays valid only if
// its consumer is unchanged; a token identity until its expiry.
func TestStillValid(t *testing.T) {
	now := time.Now()
	a := newAuth(t, apiKeyGateway(), Options{Now: func() time.Time { return now }})
	buyer, _ := a.Authenticate(withKey("buyer-key"))
	reader, _ := a.Authenticate(withKey("reader-key"))
	if !a.StillValid(buyer) || !a.StillValid(reader) || !a.StillValid(nil) {
		t.Fatal("identities invalid before any reload")
	}
	next := apiKeyGateway()
	delete(next.Consumers, "reader")
	next.Consumers["ops"] = &gateway.Consumer{KeySHA256: HashKey("ops-key")}
	if err := a.Update(t.Context(), next.Auth, next.Consumers); err != nil {
		t.Fatal(err)
	}
	if !a.StillValid(buyer) {
		t.Error("the unchanged buyer is invalid after a reload that changed others")
	}
	if a.StillValid(reader) {
		t.Error("the removed reader is still valid")
	}
	rekeyed := apiKeyGateway()
	rekeyed.Consumers["buyer"].KeySHA256 = HashKey("new-buyer-key")
	if err := a.Update(t.Context(), rekeyed.Auth, rekeyed.Consumers); err != nil {
		t.Fatal(err)
	}
	if a.StillValid(buyer) {
		t.Error("the buyer is still valid after its key changed")
	}
	if a.StillValid(&pipeline.Identity{Name: "buyer", Source: pipeline.IdentityKey}) {
		t.Error("a key identity the authenticator never gave out is valid")
	}

	is := newTestIssuer(t)
	k1, _ := rsaKey(t, "k1")
	is.publish(k1)
	if err := a.Update(t.Context(), jwtGateway(is.srv.URL).Auth, nil); err != nil {
		t.Fatal(err)
	}
	tok, err := a.Authenticate(bearer(sign(t, claims{exp: now.Add(time.Minute)}, jwa.RS256(), k1)))
	if err != nil {
		t.Fatal(err)
	}
	if !a.StillValid(tok) {
		t.Error("an unexpired token identity is invalid")
	}
	now = now.Add(2 * time.Minute)
	if a.StillValid(tok) {
		t.Error("a token identity is valid past its expiry")
	}
}
