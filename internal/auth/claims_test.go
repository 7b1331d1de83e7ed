package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// TestJWTClaims: a verified token's identity carries every claim as
// signed, standard ones included; an unverified token carries none.
func TestJWTClaims(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	a := newAuth(t, jwtGateway("", &gateway.JWTKey{Secret: string(secret)}), Options{})
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	c := claims{exp: exp, extra: map[string]any{"tenant": "acme", "org": map[string]any{"plan": "gold", "seats": 5}}}
	id, err := a.Authenticate(bearer(sign(t, c, jwa.HS256(), secret)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"tenant": "acme", "org": map[string]any{"plan": "gold", "seats": 5.0},
		"iss": testIssuer, "sub": "alice", "aud": []any{testAudience}, "exp": float64(exp.Unix())}
	got := id.Claims
	delete(got, "iat")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("claims\n got %v\nwant %v", got, want)
	}
	forged := forge(t, map[string]any{"alg": "HS256", "typ": "JWT"}, c, []byte("another secret entirely, 32 bytes"))
	if id, err := a.Authenticate(bearer(forged)); err == nil || id != nil {
		t.Errorf("a token signed with another key was accepted: %+v", id)
	}
}

// TestIntrospectionClaims: an active introspection answer's members are
// the identity's claims.
func TestIntrospectionClaims(t *testing.T) {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"active":true,"sub":"bob","scope":"read","tenant":"globex","exp":` + itoa(time.Now().Add(time.Hour).Unix()) + `}`))
	}))
	defer idp.Close()
	a := newAuth(t, &gateway.Config{Auth: gateway.Auth{Introspection: &gateway.IntrospectionAuth{
		URL: idp.URL, RolesClaim: "scope", Cache: yamlconf.Duration(time.Minute), Timeout: yamlconf.Duration(time.Second),
	}}}, Options{})
	id, err := a.Authenticate(bearer("opaque"))
	if err != nil {
		t.Fatal(err)
	}
	if id.Claims["tenant"] != "globex" || id.Claims["sub"] != "bob" || id.Claims["active"] != true {
		t.Errorf("claims %v, want the introspection answer's members", id.Claims)
	}
}

// TestStaticConsumerClaims: an API-key consumer's static claims become
// JSON values; changing them gives a new identity on reload.
func TestStaticConsumerClaims(t *testing.T) {
	gw := apiKeyGateway()
	gw.Consumers["buyer"].Claims = map[string]any{"tenant": "acme-corp", "limits": map[string]any{"max": uint64(7)}}
	a := newAuth(t, gw, Options{})
	id, err := a.Authenticate(withKey("buyer-key"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"tenant": "acme-corp", "limits": map[string]any{"max": 7.0}}
	if !reflect.DeepEqual(id.Claims, want) {
		t.Errorf("claims %v, want %v", id.Claims, want)
	}
	if reader, _ := a.Authenticate(withKey("reader-key")); reader.Claims != nil {
		t.Errorf("a consumer without claims got %v", reader.Claims)
	}
	gw2 := apiKeyGateway()
	gw2.Consumers["buyer"].Claims = map[string]any{"tenant": "other"}
	if err := a.Update(context.Background(), gw2.Auth, gw2.Consumers); err != nil {
		t.Fatal(err)
	}
	id2, _ := a.Authenticate(withKey("buyer-key"))
	if id2 == id || id2.Claims["tenant"] != "other" {
		t.Errorf("after a reload changing claims: %+v (same identity: %v)", id2.Claims, id2 == id)
	}
}
