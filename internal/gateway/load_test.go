package gateway

import (
	"testing"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// load loads gateway.yaml from text with env as the environment.
func load(t *testing.T, text string, env map[string]string) (*Config, yamlconf.Errors) {
	t.Helper()
	r := &yamlconf.Reader{FS: fstest.MapFS{File: {Data: []byte(text)}}, Dir: "dir"}
	gw := Load(r, Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	r.Errs.Sort()
	return gw, r.Errs
}

// TestLoadAlone: gateway.yaml loads without any pipeline, defaults
// applied in one place and secrets from the environment kept for
// redaction.
func TestLoadAlone(t *testing.T) {
	gw, errs := load(t, "upstreams:\n  api:\n    url: http://api.test\n    headers: {X-Key: \"${KEY}\"}\n", map[string]string{"KEY": "s3cret"})
	if len(errs) > 0 {
		t.Fatalf("Load: %v", errs)
	}
	u := gw.Upstream("api")
	if u == nil || u.Kind != "http" || u.Timeout.D() != DefaultUpstreamTimeout || u.Headers["X-Key"] != "s3cret" {
		t.Fatalf("upstream api = %+v, want defaults and the header from the environment", u)
	}
	if gw.Server.Listen != DefaultListen || gw.GraphQL.MaxDepth != DefaultGraphQLMaxDepth || gw.MCP.MaxSessions != DefaultMCPMaxSessions {
		t.Errorf("defaults not applied: %+v", gw.Server)
	}
	if s := gw.Secrets(); len(s) != 1 || s[0] != "s3cret" {
		t.Errorf("Secrets() = %q", s)
	}
	if (*Config)(nil).Upstream("api") != nil {
		t.Error("Upstream on a nil Config is not nil")
	}
}

// TestLoadErrorsLocated: every error of gateway.yaml, at file:line:column.
func TestLoadErrorsLocated(t *testing.T) {
	_, errs := load(t, "upstreams:\n  api: {url: ftp://x, retries: 9}\ntelemetry: {otlp_protocol: udp}\n", nil)
	want := []string{
		`dir/gateway.yaml:2:14: upstreams.api.url: want an absolute http(s) URL`,
		`dir/gateway.yaml:2:32: upstreams.api.retries: want 0 to 5, got 9`,
		`dir/gateway.yaml:3:28: telemetry.otlp_protocol: "udp": want http or grpc`,
	}
	if len(errs) != len(want) {
		t.Fatalf("errors:\n%v\nwant %d", errs, len(want))
	}
	for i, w := range want {
		if got := errs[i].Error(); got != w {
			t.Errorf("error %d = %q, want %q", i, got, w)
		}
	}
}

// TestLoadMissing: a directory without gateway.yaml says so.
func TestLoadMissing(t *testing.T) {
	r := &yamlconf.Reader{FS: fstest.MapFS{}, Dir: "dir"}
	if gw := Load(r, Options{}); gw != nil || len(r.Errs) != 1 || r.Errs[0].Error() != "dir/gateway.yaml: missing: a pipeline directory needs a gateway.yaml" {
		t.Fatalf("Load = %v, %v", gw, r.Errs)
	}
}
