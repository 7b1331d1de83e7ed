package security

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// forge builds a JWT by hand: the header as given, good claims, signed
// with HMAC-SHA256 over secret, or unsigned when secret is nil.
func forge(t *testing.T, p *idp, header map[string]any, secret []byte) string {
	t.Helper()
	good := p.token(t, tokenClaims{roles: []string{"buyer", "reader"}})
	claims := strings.Split(good, ".")[1]
	h, _ := json.Marshal(header)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + claims
	if secret == nil {
		return input + "."
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func publicPEM(t *testing.T, k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestAttacks sends one attack per row to the locked-down gateway and
// checks the exact status and problem type, and that no backend was
// called.
func TestAttacks(t *testing.T) {
	l := startLab(t)
	p := l.idp
	buyer, reader := l.secrets["buyer key"], l.secrets["reader key"]
	order := `{"sku":"p1001","qty":1}`
	rogueRaw, _ := rsa.GenerateKey(rand.Reader, 2048)
	rogue, _ := jwk.Import(rogueRaw)
	_ = rogue.Set(jwk.KeyIDKey, "rogue")
	now := time.Now()
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	post := func(headers ...string) *http.Request {
		return request(t, "POST", l.base+"/v1/orders", order, headers...)
	}
	cases := []struct {
		name      string
		req       *http.Request
		status    int
		problem   string
		challenge string // part of WWW-Authenticate, if one is due
	}{
		{"no key", post(), 401, "unauthorized", `Bearer realm="manifold"`},
		{"wrong key", post("X-API-Key", "mfk_guessed"), 401, "invalid-credentials", `error="invalid_token"`},
		{"wrong key as bearer", post(bearer("mfk_guessed")...), 401, "invalid-credentials", `error="invalid_token"`},
		{"two keys", post("X-API-Key", buyer, "X-API-Key", reader), 401, "invalid-credentials", `error="invalid_request"`},
		{"basic auth", post("Authorization", "Basic YnV5ZXI6cGFzcw=="), 401, "invalid-credentials", `error="invalid_request"`},
		{"reader calls placeOrder", post("X-API-Key", reader), 403, "forbidden", ""},
		{"reader's JWT calls placeOrder", post(bearer(p.token(t, tokenClaims{roles: []string{"reader"}}))...), 403, "forbidden", ""},
		{"introspected reader calls placeOrder", post(bearer(p.opaque)...), 403, "forbidden", ""},
		{"revoked opaque token", post(bearer("opaque-revoked")...), 401, "invalid-credentials", "not active"},
		{"expired token", post(bearer(p.token(t, tokenClaims{roles: []string{"buyer"}, exp: now.Add(-5 * time.Minute)}))...), 401, "invalid-credentials", "expired"},
		{"not-yet-valid token", post(bearer(p.token(t, tokenClaims{roles: []string{"buyer"}, nbf: now.Add(10 * time.Minute)}))...), 401, "invalid-credentials", "not valid yet"},
		{"wrong audience", post(bearer(p.token(t, tokenClaims{roles: []string{"buyer"}, aud: "another-api"}))...), 401, "invalid-credentials", "(aud)"},
		{"wrong issuer", post(bearer(p.token(t, tokenClaims{roles: []string{"buyer"}, iss: "https://evil.test"}))...), 401, "invalid-credentials", "(iss)"},
		{"alg none", post(bearer(forge(t, p, map[string]any{"alg": "none", "kid": "k1"}, nil))...), 401, "invalid-credentials", "algorithm"},
		{"HS256 signed with the RSA public key", post(bearer(forge(t, p, map[string]any{"alg": "HS256", "kid": "k1"}, publicPEM(t, p.raw)))...), 401, "invalid-credentials", "algorithm"},
		{"HS256 with the static secret's kid, not pinned", post(bearer(forge(t, p, map[string]any{"alg": "HS256", "kid": "hs1"}, []byte(l.secrets["JWT HS secret"])))...), 401, "invalid-credentials", "algorithm"},
		{"unknown kid", post(bearer(p.token(t, tokenClaims{roles: []string{"buyer"}}, rogue))...), 401, "invalid-credentials", "unknown key"},
		{"path traversal", request(t, "GET", l.base+"/v1/items/..", ""), 400, "bad-request", ""},
		{"encoded path traversal", request(t, "GET", l.base+"/v1/items/%2e%2e", ""), 400, "bad-request", ""},
		{"encoded slash", request(t, "GET", l.base+"/v1/items/a%2F..%2F..%2Fadmin", ""), 400, "bad-request", ""},
		{"encoded backslash", request(t, "GET", l.base+"/v1/items/..%5Cadmin", ""), 400, "bad-request", ""},
		{"CR LF in a path param", request(t, "GET", l.base+"/v1/items/a%0d%0aX-Injected:%201", ""), 400, "bad-request", ""},
		{"CR LF into an upstream header", request(t, "GET", l.base+"/v1/tagged?tag=a%0d%0aX-Injected:%201", ""), 400, "bad-request", ""},
		{"oversized body", request(t, "POST", l.base+"/v1/orders", `{"pad":"`+strings.Repeat("x", 2048)+`"}`, "X-API-Key", buyer), 413, "body-too-large", ""},
		{"preflight from another origin (CORS off)", request(t, "OPTIONS", l.base+"/v1/orders", "", "Origin", "https://evil.test", "Access-Control-Request-Method", "POST"), 405, "method-not-allowed", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := l.backend.calls.Load()
			a := do(t, c.req)
			if a.status != c.status || a.problemType() != c.problem {
				t.Errorf("got %d %q (%s), want %d %q", a.status, a.problemType(), a.body, c.status, c.problem)
			}
			if got := a.header.Get("WWW-Authenticate"); c.challenge != "" && !strings.Contains(got, c.challenge) {
				t.Errorf("WWW-Authenticate %q, want it to hold %q", got, c.challenge)
			}
			if a.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("CORS is off, yet the answer allows origin %q", a.header.Get("Access-Control-Allow-Origin"))
			}
			if n := l.backend.calls.Load() - before; n != 0 {
				t.Errorf("the backend was called %d times", n)
			}
		})
	}
	t.Run("slow header sender", func(t *testing.T) {
		before := l.backend.calls.Load()
		conn, err := net.Dial("tcp", strings.TrimPrefix(l.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "GET /v1/limited HTTP/1.1\r\nHost: lab\r\nX-Slow: ")
		start := time.Now()
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(make([]byte, 1024))
		if n != 0 || err == nil || time.Since(start) > 3*time.Second {
			t.Errorf("read %d bytes, %v after %s; want the connection closed without an answer at read_header_timeout (300ms)", n, err, time.Since(start))
		}
		if d := l.backend.calls.Load() - before; d != 0 {
			t.Errorf("the backend was called %d times", d)
		}
	})
	t.Run("burst over the rate limit", func(t *testing.T) {
		for i := range 3 {
			// A client cannot escape its bucket with X-Forwarded-For: no proxy is trusted.
			a := do(t, request(t, "GET", l.base+"/v1/limited", "", "X-Forwarded-For", "198.51.100."+string(rune('1'+i))))
			if a.status != 200 || !strings.Contains(a.header.Get("RateLimit-Policy"), `"limited";q=3;w=60`) {
				t.Fatalf("call %d: %d, RateLimit-Policy %q", i+1, a.status, a.header.Get("RateLimit-Policy"))
			}
		}
		before := l.backend.calls.Load()
		a := do(t, request(t, "GET", l.base+"/v1/limited", "", "X-Forwarded-For", "203.0.113.9"))
		if a.status != 429 || a.problemType() != "rate-limited" || a.header.Get("Retry-After") == "" ||
			!strings.Contains(a.header.Get("RateLimit"), `"limited";r=0;t=`) {
			t.Errorf("fourth call: %d %q, Retry-After %q, RateLimit %q; want 429 rate-limited with both", a.status,
				a.problemType(), a.header.Get("Retry-After"), a.header.Get("RateLimit"))
		}
		if d := l.backend.calls.Load() - before; d != 0 {
			t.Errorf("the backend was called %d times", d)
		}
	})
	t.Run("admin without its key", func(t *testing.T) {
		if l.admin == "" {
			t.Fatal("the admin listener did not start")
		}
		for _, h := range [][]string{nil, {"X-API-Key", buyer}, {"Authorization", "Bearer " + l.secrets["buyer JWT"]}} {
			a := do(t, request(t, "GET", l.admin+"/config", "", h...))
			if a.status != 401 || a.problemType() != "unauthorized" {
				t.Errorf("admin /config with %v: %d %q, want 401 unauthorized", h, a.status, a.problemType())
			}
		}
	})
}

// TestAllowed: what the attacks must not break. Each caller reaches what
// its roles allow; the backend sees the gateway's credentials, never the
// client's, and no hop-by-hop header.
func TestAllowed(t *testing.T) {
	l := startLab(t)
	cases := []struct {
		name    string
		method  string
		headers []string
	}{
		{"buyer key places an order", "POST", []string{"X-API-Key", l.secrets["buyer key"]}},
		{"buyer key as bearer places an order", "POST", []string{"Authorization", "Bearer " + l.secrets["buyer key"]}},
		{"buyer JWT places an order", "POST", []string{"Authorization", "Bearer " + l.secrets["buyer JWT"]}},
		{"reader lists orders (same path, GET)", "GET", []string{"X-API-Key", l.secrets["reader key"]}},
		{"introspected token lists orders", "GET", []string{"Authorization", "Bearer " + l.secrets["opaque token"]}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := ""
			if c.method == "POST" {
				body = `{"sku":"p1001"}`
			}
			h := append(c.headers, "Cookie", "session=client", "Proxy-Authorization", "Basic eA==",
				"Connection", "X-Hop", "X-Hop", "1", "Te", "trailers", "Forwarded", "for=1.2.3.4")
			a := do(t, request(t, c.method, l.base+"/v1/orders", body, h...))
			if a.status != 200 {
				t.Fatalf("got %d %s", a.status, a.body)
			}
			got := l.backend.lastRequest().Header
			if got.Get("Authorization") != "Bearer "+l.secrets["upstream token"] {
				t.Errorf("the backend got Authorization %q, want the upstream's configured token", got.Get("Authorization"))
			}
			for _, name := range []string{"X-Api-Key", "Cookie", "Proxy-Authorization", "X-Hop", "Te"} {
				if v := got.Get(name); v != "" {
					t.Errorf("the backend got the client's %s: %q", name, v)
				}
			}
			// The gateway sends its own Forwarded (the peer, no proxy being
			// trusted), never the one the client wrote.
			if v := got.Get("Forwarded"); strings.Contains(v, "1.2.3.4") || !strings.HasPrefix(v, "for=127.0.0.1;") {
				t.Errorf("the backend got Forwarded %q, want the gateway's own for=127.0.0.1", v)
			}
		})
	}
}
