package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

const gatewayYAML = `
admin: {key: "${ADMIN_KEY}"}
upstreams:
  inventory:
    url: "https://user:${INV_PASS}@inventory.example/api"
    headers: {Authorization: "Bearer ${INV_TOKEN}", X-Tenant: acme}
    breaker: {failures: 3, window: 30s}
auth:
  introspection: {url: "https://idp.example/introspect", client_id: gw, client_secret: literal-client-secret}
server:
  cors: {origins: ["https://app.example"], headers: [X-Request-Id]}
`

// testKey is the admin key of the tests' API (MinAdminKey characters or
// more).
const testKey = "k3y-0123456789abcdef-0123"

func newAPI(t *testing.T) (*API, *pipeline.Plan) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"gateway.yaml": gatewayYAML,
		"p.yaml":       "name: p\npath: /p\nsteps:\n  s: {upstream: inventory, path: /items}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"ADMIN_KEY": "admin-key-from-env-0123456789", "INV_PASS": "inv-password", "INV_TOKEN": "inv-token"}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{LookupEnv: func(n string) (string, bool) { v, ok := env[n]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := server.Build(plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	api, err := New(Options{Key: testKey, Server: server.New(rt, server.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	return api, plan
}

func TestNewRefusesAnEmptyKey(t *testing.T) {
	if _, err := New(Options{}); err != ErrNoKey {
		t.Errorf("New without a key: %v, want ErrNoKey", err)
	}
}

func TestAdminKey(t *testing.T) {
	api, _ := newAPI(t)
	cases := []struct {
		name   string
		header string
		value  string
		want   int
	}{
		{"none", "", "", 401},
		{"wrong", KeyHeader, testKey + "y", 401},
		{"prefix", KeyHeader, testKey[:len(testKey)-1], 401},
		{"header", KeyHeader, testKey, 200},
		{"bearer", "Authorization", "Bearer " + testKey, 200},
		{"basic is not bearer", "Authorization", "Basic " + testKey, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/upstreams", nil)
			if c.header != "" {
				r.Header.Set(c.header, c.value)
			}
			w := httptest.NewRecorder()
			api.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Errorf("got %d, want %d: %s", w.Code, c.want, w.Body)
			}
			if c.want == 401 && w.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("401 is not a problem document: %s", w.Header().Get("Content-Type"))
			}
		})
	}
	w := httptest.NewRecorder()
	api.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	if w.Code != http.StatusOK {
		t.Errorf("healthz without key: %d, want 200", w.Code)
	}
}

// TestEffectiveConfigRedactsSecrets checks every way a secret can reach
// the configuration: from the environment, in a secret key, in a URL.
func TestEffectiveConfigRedactsSecrets(t *testing.T) {
	api, _ := newAPI(t)
	r := httptest.NewRequest("GET", "/config", nil)
	r.Header.Set(KeyHeader, testKey)
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	body := w.Body.String()
	for _, secret := range []string{"admin-key-from-env", "inv-password", "inv-token", "literal-client-secret"} {
		if strings.Contains(body, secret) {
			t.Errorf("config shows %q", secret)
		}
	}
	var cfg struct {
		Gateway struct {
			Upstreams map[string]struct {
				URL     string
				Headers map[string]string
				Breaker map[string]any
			}
			Server struct{ CORS struct{ Headers []string } }
		}
		Pipelines []map[string]string
	}
	if err := json.Unmarshal(w.Body.Bytes(), &cfg); err != nil {
		t.Fatal(err)
	}
	inv := cfg.Gateway.Upstreams["inventory"]
	checks := []struct{ name, got, want string }{
		{"url keeps host, loses its whole user part", inv.URL, "https://redacted@inventory.example/api"},
		{"secret header", inv.Headers["Authorization"], Redacted},
		{"plain header is still a header value", inv.Headers["X-Tenant"], Redacted},
		{"durations read as written", inv.Breaker["window"].(string), "30s"},
		{"defaults applied", inv.Breaker["cooldown"].(string), "15s"},
		{"CORS header names stay", strings.Join(cfg.Gateway.Server.CORS.Headers, ","), "X-Request-Id"},
		{"pipelines listed", cfg.Pipelines[0]["name"], "p"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}
