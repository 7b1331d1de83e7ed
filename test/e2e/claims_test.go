package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/manifoldgw/manifold/internal/auth"
)

const claimsSecret = "e2e-claims-secret-of-32-bytes-or-more"

// tenantToken is an HS256 token for sub alice naming tenant.
func tenantToken(t *testing.T, tenant string) string {
	t.Helper()
	tok, err := jwt.NewBuilder().Issuer("https://idp.test").Audience([]string{"manifold"}).Subject("alice").
		Expiration(time.Now().Add(time.Hour)).Claim("tenant", tenant).Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), []byte(claimsSecret)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// TestClaimsReachBackend: a JWT's claim and an API-key consumer's static
// claim go into a backend path over REST; one subject holding tokens of
// two tenants never gets the other tenant's cached answer.
func TestClaimsReachBackend(t *testing.T) {
	t.Setenv("E2E_CLAIMS_SECRET", claimsSecret)
	var calls atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"path":%q}`, r.URL.EscapedPath())
	}))
	defer up.Close()
	gateway := fmt.Sprintf(`upstreams:
  orders: {url: %q}
auth:
  api_key: {header: X-API-Key}
  jwt:
    issuer: https://idp.test
    audience: manifold
    algorithms: [HS256]
    keys:
      - secret: ${E2E_CLAIMS_SECRET}
consumers:
  acme: {key_sha256: %q, roles: [buyer], claims: {tenant: acme-corp}}
`, up.URL, auth.HashKey("acme-key-0123456789"))
	base, _ := serveDir(t, map[string]string{
		"gateway.yaml": gateway,
		"orders.yaml": `name: tenantOrders
path: /orders
cache: 1m
steps:
  list: {upstream: orders, path: "/tenants/${ .consumer.claims.tenant }/orders", select: .path}
`,
	})
	get := func(header, value string) (int, string, string) {
		req, _ := http.NewRequest(http.MethodGet, base+"/orders", nil)
		req.Header.Set(header, value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("Manifold-Cache")
	}
	cases := []struct {
		name, header, value, want, cache string
	}{
		{"jwt tenant a", "Authorization", "Bearer " + tenantToken(t, "a b"), `{"list":"/tenants/a%20b/orders"}`, "miss"},
		{"jwt tenant b", "Authorization", "Bearer " + tenantToken(t, "globex"), `{"list":"/tenants/globex/orders"}`, "miss"},
		{"jwt tenant a again", "Authorization", "Bearer " + tenantToken(t, "a b"), `{"list":"/tenants/a%20b/orders"}`, "hit"},
		{"static claims", "X-API-Key", "acme-key-0123456789", `{"list":"/tenants/acme-corp/orders"}`, "miss"},
	}
	for _, c := range cases {
		status, body, cache := get(c.header, c.value)
		if status != 200 || body != c.want || cache != c.cache {
			t.Errorf("%s: %d %s (cache %s), want %s (cache %s)", c.name, status, body, cache, c.want, c.cache)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d backend calls, want 3 (one per tenant)", n)
	}
	if status, body, _ := get("Authorization", "Bearer "+tenantToken(t, "../admin")); status != 502 || calls.Load() != 3 {
		t.Errorf("a claim leaving its path segment: %d %s, want a refusal without a call", status, body)
	}
}
