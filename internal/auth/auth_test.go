package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

func TestExtract(t *testing.T) {
	cases := []struct {
		name    string
		headers map[string][]string
		want    Credential
		err     bool
	}{
		{"nothing", nil, Credential{}, false},
		{"api key header", map[string][]string{"X-Api-Key": {"mfk_abc"}}, Credential{APIKey, "mfk_abc"}, false},
		{"api key wins over authorization", map[string][]string{"X-Api-Key": {"k"}, "Authorization": {"Bearer t"}}, Credential{APIKey, "k"}, false},
		{"bearer", map[string][]string{"Authorization": {"Bearer abc.def-_~+/="}}, Credential{Bearer, "abc.def-_~+/="}, false},
		{"bearer scheme in any case", map[string][]string{"Authorization": {"bEaReR tok"}}, Credential{Bearer, "tok"}, false},
		{"two api keys", map[string][]string{"X-Api-Key": {"a", "b"}}, Credential{}, true},
		{"two authorizations", map[string][]string{"Authorization": {"Bearer a", "Bearer b"}}, Credential{}, true},
		{"empty api key", map[string][]string{"X-Api-Key": {"  "}}, Credential{}, true},
		{"basic scheme", map[string][]string{"Authorization": {"Basic dXNlcjpwYXNz"}}, Credential{}, true},
		{"bearer without token", map[string][]string{"Authorization": {"Bearer"}}, Credential{}, true},
		{"token with a space", map[string][]string{"Authorization": {"Bearer a b"}}, Credential{}, true},
		{"token with padding inside", map[string][]string{"Authorization": {"Bearer a=b"}}, Credential{}, true},
		{"control character", map[string][]string{"X-Api-Key": {"a\x01b"}}, Credential{}, true},
		{"too long", map[string][]string{"X-Api-Key": {strings.Repeat("k", MaxCredential+1)}}, Credential{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Extract(http.Header(c.headers), "X-API-Key")
			if (err != nil) != c.err || got != c.want {
				t.Errorf("got %+v, %v; want %+v, error %v", got, err, c.want, c.err)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestRolesFromClaims(t *testing.T) {
	claims := map[string]any{
		"roles":                      []any{"reader", "buyer", "reader", "", 7},
		"scope":                      "orders:write  profile ",
		"realm_access":               map[string]any{"roles": []any{"admin"}},
		"resource_access":            map[string]any{"gw": map[string]any{"roles": []any{"ops"}}},
		"https://example.com/roles":  []any{"ns"},
		"https://example.com/nested": map[string]any{"x": "y"},
		"number":                     42,
	}
	cases := []struct {
		path string
		want []string
	}{
		{"roles", []string{"reader", "buyer"}},
		{"scope", []string{"orders:write", "profile"}},
		{"realm_access.roles", []string{"admin"}},
		{"resource_access.gw.roles", []string{"ops"}},
		{"https://example.com/roles", []string{"ns"}},
		{"https://example.com/nested.x", nil},
		{"number", nil},
		{"missing", nil},
		{"realm_access.missing", nil},
		{"scope.deeper", nil},
		{"", nil},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			if got := RolesFromClaims(claims, c.path); !slices.Equal(got, c.want) && (len(got) != 0 || len(c.want) != 0) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func apiKeyGateway() *gateway.Config {
	rate := &yamlconf.Rate{Count: 5, Per: 60e9, Burst: 5}
	return &gateway.Config{
		Auth: gateway.Auth{APIKey: &gateway.APIKeyAuth{Header: "X-API-Key"}},
		Consumers: map[string]*gateway.Consumer{
			"buyer":  {KeySHA256: HashKey("buyer-key"), Roles: []string{"buyer"}, Rate: rate},
			"reader": {KeySHA256: strings.ToUpper(HashKey("reader-key")), Roles: []string{"reader"}},
		},
	}
}

func TestAPIKeys(t *testing.T) {
	a := newAuth(t, apiKeyGateway(), Options{})
	cases := []struct {
		name   string
		header string
		value  string
		want   string // consumer, "" for anonymous
		status int    // 0: accepted
	}{
		{"anonymous", "", "", "", 0},
		{"key in X-API-Key", "X-API-Key", "buyer-key", "buyer", 0},
		{"key as bearer", "Authorization", "Bearer reader-key", "reader", 0},
		{"upper-case hash in config", "X-API-Key", "reader-key", "reader", 0},
		{"wrong key", "X-API-Key", "buyer-key2", "", 401},
		{"wrong bearer", "Authorization", "Bearer nope", "", 401},
		{"basic auth", "Authorization", "Basic YTpi", "", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if c.header != "" {
				r.Header.Set(c.header, c.value)
			}
			id, err := a.Authenticate(r)
			var pe *problem.Error
			switch {
			case c.status != 0:
				if !errors.As(err, &pe) || pe.P.Status != c.status || pe.P.Type != problem.TypePrefix+"invalid-credentials" {
					t.Fatalf("got %+v, %v; want a %d invalid-credentials problem", id, err, c.status)
				}
				if strings.Contains(pe.P.Detail, c.value) || strings.Contains(err.Error(), "buyer-key2") {
					t.Errorf("the answer or error echoes the credential: %q / %v", pe.P.Detail, err)
				}
			case c.want == "":
				if id != nil || err != nil {
					t.Fatalf("got %+v, %v; want anonymous", id, err)
				}
			default:
				if err != nil || id == nil || id.Name != c.want {
					t.Fatalf("got %+v, %v; want %s", id, err, c.want)
				}
			}
		})
	}
	buyer, _ := a.Authenticate(withKey("buyer-key"))
	if r := a.ConsumerRate(buyer); r == nil || r.Count != 5 {
		t.Errorf("ConsumerRate(buyer) = %+v, want 5/min", r)
	}
	if r := a.ConsumerRate(&pipeline.Identity{Name: "buyer"}); r != nil {
		t.Errorf("a token subject named like a consumer got the consumer's rate %+v", r)
	}
}

func withKey(k string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-API-Key", k)
	return r
}

// TestUpdate: a reload with new consumers takes effect; an unchanged
// configuration keeps the state (and its JWKS cache); a broken one
// changes nothing.
func TestUpdate(t *testing.T) {
	gw := apiKeyGateway()
	a := newAuth(t, gw, Options{})
	before := a.cur.Load()
	same := apiKeyGateway()
	if err := a.Update(t.Context(), same.Auth, same.Consumers); err != nil || a.cur.Load() != before {
		t.Fatalf("an identical configuration rebuilt the state (%v)", err)
	}
	next := apiKeyGateway()
	next.Consumers["ops"] = &gateway.Consumer{KeySHA256: HashKey("ops-key"), Roles: []string{"ops"}}
	if err := a.Update(t.Context(), next.Auth, next.Consumers); err != nil {
		t.Fatal(err)
	}
	if id, err := a.Authenticate(withKey("ops-key")); err != nil || id.Name != "ops" {
		t.Errorf("new consumer after the update: %+v, %v", id, err)
	}
	broken := apiKeyGateway()
	broken.Consumers["bad"] = &gateway.Consumer{KeySHA256: "not hex"}
	if err := a.Update(t.Context(), broken.Auth, broken.Consumers); err == nil {
		t.Error("a broken configuration was accepted")
	}
	if id, _ := a.Authenticate(withKey("ops-key")); id == nil {
		t.Error("a failed update changed the state")
	}
	off := &gateway.Config{}
	if err := a.Update(t.Context(), off.Auth, off.Consumers); err != nil {
		t.Fatal(err)
	}
	if id, err := a.Authenticate(withKey("anything")); id != nil || err != nil {
		t.Errorf("with auth removed: %+v, %v; want anonymous", id, err)
	}
}
