package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// opsKey is the admin key of the gateways these tests start.
const opsKey = "test-admin-key-0123456789"

// opsGateway is a gateway serving a temporary pipeline directory, with
// its admin API and hot reload on.
type opsGateway struct {
	base, admin, dir string
	stop             func() error
}

// serveOps writes files into a temporary directory and serves it as
// `manifold serve --dir` does, with the admin API on an ephemeral
// loopback port. env resolves ${NAME} in gateway.yaml; opts adds to the
// launch options.
func serveOps(t *testing.T, files map[string]string, env map[string]string, opts launch.Options) *opsGateway {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, dir, name, content)
	}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	lo := pipeline.LoadOptions{LookupEnv: lookup}
	plan, err := pipeline.LoadDir(dir, lo)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	plan.Gateway.Audit.NATS = "off"
	opts.Listen, opts.AdminListen, opts.AdminKey = "127.0.0.1:0", "127.0.0.1:0", opsKey
	opts.Dir, opts.LoadOptions = dir, lo
	addr, adminAddr, done := make(chan string, 1), make(chan string, 1), make(chan error, 1)
	opts.Ready = func(a string) { addr <- a }
	opts.AdminReady = func(a string) { adminAddr <- a }
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- launch.Serve(ctx, plan, opts) }()
	g := &opsGateway{dir: dir}
	stopped := false
	g.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections() // or shutdown waits 5s for unused ones
		if err := g.stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	for g.base == "" || g.admin == "" {
		select {
		case a := <-addr:
			g.base = "http://" + a
		case a := <-adminAddr:
			g.admin = "http://" + a
		case err := <-done:
			t.Fatalf("serve: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("gateway did not start within 10s")
		}
	}
	return g
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// adminCall sends a request to the admin API with key (none if "") and
// returns the status and the body.
func adminCall(t *testing.T, method, url, key, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// admin calls the admin API with the right key and decodes the answer.
func (g *opsGateway) adminJSON(t *testing.T, method, path, body string, wantStatus int) map[string]any {
	t.Helper()
	status, b := adminCall(t, method, g.admin+path, opsKey, body)
	if status != wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, wantStatus, b)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s %s: not JSON: %v\n%s", method, path, err, b)
	}
	return v
}

const opsGatewayYAML = `
admin: {key: "${ADMIN_KEY}"}
upstreams:
  a: {url: "${A_URL}", headers: {Authorization: "Bearer ${A_TOKEN}"}, breaker: {failures: 2, cooldown: 1h}}
  b: {url: "${B_URL}"}
`

// TestAdminAPI drives every admin endpoint against a running gateway.
func TestAdminAPI(t *testing.T) {
	a, b := newCounting(t, `{"v":"a"}`), newCounting(t, `{"v":"b"}`)
	pipeA := "name: pa\npath: /a\ncache: 1m\nsteps:\n  s: {upstream: a, path: /x, cache: 1m}\n"
	g := serveOps(t, map[string]string{
		"gateway.yaml": opsGatewayYAML,
		"pa.yaml":      pipeA,
		"pb.yaml":      "name: pb\npath: /b\nsteps:\n  s: {upstream: b, path: /y, cache: 1m}\n",
	}, map[string]string{"ADMIN_KEY": "from-yaml-key-0123456789abcdef", "A_URL": a.URL, "B_URL": b.URL, "A_TOKEN": "super-secret-token"}, launch.Options{})

	t.Run("key is required", func(t *testing.T) {
		for _, key := range []string{"", "wrong", opsKey + "x"} {
			if status, body := adminCall(t, "GET", g.admin+"/pipelines", key, ""); status != 401 || !bytes.Contains(body, []byte("unauthorized")) {
				t.Errorf("key %q: %d %s, want 401 problem", key, status, body)
			}
		}
		req, _ := http.NewRequest("GET", g.admin+"/pipelines", nil)
		req.Header.Set("Authorization", "Bearer "+opsKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("bearer key: %v %v, want 200", resp.StatusCode, err)
		}
		resp.Body.Close()
	})
	t.Run("health on both listeners", func(t *testing.T) {
		for _, base := range []string{g.base, g.admin} {
			if s, _, body := fetch(t, base+"/healthz"); s != 200 || !strings.Contains(body, "ok") {
				t.Errorf("%s/healthz: %d %s", base, s, body)
			}
			s, _, body := fetch(t, base+"/readyz")
			var rd struct {
				Status    string
				Pipelines int
			}
			if err := json.Unmarshal([]byte(body), &rd); err != nil || s != 200 || rd.Status != "ready" || rd.Pipelines != 2 {
				t.Errorf("%s/readyz: %d %s, want 200, ready, 2 pipelines", base, s, body)
			}
		}
	})
	t.Run("pipelines with file and hash", func(t *testing.T) {
		v := g.adminJSON(t, "GET", "/pipelines/pa", "", 200)
		sum := sha256.Sum256([]byte(pipeA))
		if v["sha256"] != hex.EncodeToString(sum[:]) || v["file"] != filepath.Join(g.dir, "pa.yaml") {
			t.Errorf("pipeline pa: file %v sha256 %v, want %s and the file's SHA-256", v["file"], v["sha256"], filepath.Join(g.dir, "pa.yaml"))
		}
		list := g.adminJSON(t, "GET", "/pipelines", "", 200)["pipelines"].([]any)
		if len(list) != 2 {
			t.Errorf("got %d pipelines, want 2", len(list))
		}
		g.adminJSON(t, "GET", "/pipelines/nope", "", 404)
	})
	t.Run("force a breaker open, then auto", func(t *testing.T) {
		fetch(t, g.base+"/a")
		v := g.adminJSON(t, "PUT", "/upstreams/a/breaker", `{"state":"open"}`, 200)
		if br := v["breaker"].(map[string]any); br["state"] != "open" || br["override"] != "open" {
			t.Errorf("breaker after forcing open: %v", br)
		}
		g.adminJSON(t, "POST", "/cache/purge", `{"all":true}`, 200)
		before := a.calls.Load()
		if s, _, body := fetch(t, g.base+"/a"); s != 502 || !strings.Contains(body, "breaker") {
			t.Errorf("with the breaker forced open: %d %s, want 502 naming the breaker", s, body)
		}
		if a.calls.Load() != before {
			t.Error("the upstream was called while its breaker was forced open")
		}
		g.adminJSON(t, "PUT", "/upstreams/a/breaker", `{"state":"auto"}`, 200)
		if s, _, _ := fetch(t, g.base+"/a"); s != 200 {
			t.Errorf("after auto: %d, want 200", s)
		}
		g.adminJSON(t, "PUT", "/upstreams/a/breaker", `{"state":"half"}`, 400)
		g.adminJSON(t, "PUT", "/upstreams/nope/breaker", `{"state":"open"}`, 404)
		ups := g.adminJSON(t, "GET", "/upstreams", "", 200)["upstreams"].([]any)
		if len(ups) != 2 || ups[0].(map[string]any)["name"] != "a" {
			t.Errorf("upstreams: %v", ups)
		}
	})
	t.Run("purge the cache", func(t *testing.T) {
		cases := []struct {
			name, body string
			status     int
			recalls    bool // the next /a reaches upstream a again
		}{
			{"nothing purged", "", 0, false},
			{"other pipeline", `{"pipeline":"pb"}`, 200, false},
			{"the upstream", `{"upstream":"a"}`, 200, true},
			{"the pipeline only", `{"pipeline":"pa"}`, 200, false}, // the step cache still answers
			{"empty request refused", `{}`, 400, false},
			{"everything", `{"all":true}`, 200, true},
			{"unknown pipeline", `{"pipeline":"nope"}`, 404, false},
			{"unknown field", `{"everything":true}`, 400, false},
			{"both", `{"pipeline":"pa","upstream":"a"}`, 400, false},
		}
		fetch(t, g.base+"/a")
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if c.status != 0 {
					g.adminJSON(t, "POST", "/cache/purge", c.body, c.status)
				}
				before := a.calls.Load()
				fetch(t, g.base+"/a")
				if got := a.calls.Load() > before; got != c.recalls {
					t.Errorf("upstream called again: %v, want %v", got, c.recalls)
				}
			})
		}
	})
	t.Run("effective config hides secrets", func(t *testing.T) {
		status, body := adminCall(t, "GET", g.admin+"/config", opsKey, "")
		if status != 200 {
			t.Fatalf("config: %d %s", status, body)
		}
		for _, secret := range []string{"super-secret-token", "from-yaml-key-0123456789abcdef", opsKey} {
			if bytes.Contains(body, []byte(secret)) {
				t.Errorf("config shows the secret %q:\n%s", secret, body)
			}
		}
		if !bytes.Contains(body, []byte(`"Authorization": "[redacted]"`)) || !bytes.Contains(body, []byte(`"cooldown": "1h0m0s"`)) {
			t.Errorf("config lacks the redacted header or the breaker settings:\n%s", body)
		}
	})
	t.Run("reload", func(t *testing.T) {
		v := g.adminJSON(t, "POST", "/reload", "", 200)
		if v["ok"] != true || v["trigger"] != "admin" {
			t.Errorf("reload: %v", v)
		}
		if v := g.adminJSON(t, "GET", "/reload", "", 200); v["trigger"] != "admin" {
			t.Errorf("last reload: %v", v)
		}
	})
	t.Run("unknown endpoint", func(t *testing.T) {
		g.adminJSON(t, "GET", "/nope", "", 404)
		g.adminJSON(t, "DELETE", "/pipelines", "", 405)
	})
}
