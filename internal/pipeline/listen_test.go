package pipeline_test

import (
	"testing"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestListenOverride: --listen overrides server.listen, and a public_url
// the file leaves out follows it, unless the port is ephemeral.
func TestListenOverride(t *testing.T) {
	cases := []struct {
		name, gateway, listen, wantListen, wantPublic string
	}{
		{"file only", "server: {listen: \":9080\"}\n", "", ":9080", "http://localhost:9080"},
		{"flag wins", "server: {listen: \":9080\"}\n", "127.0.0.1:19080", "127.0.0.1:19080", "http://127.0.0.1:19080"},
		{"explicit public_url kept", "server: {listen: \":9080\", public_url: \"https://deals.example.com\"}\n", ":8080", ":8080", "https://deals.example.com"},
		{"ephemeral port", "server: {listen: \":9080\"}\n", "127.0.0.1:0", "127.0.0.1:0", "http://localhost:9080"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"gateway.yaml": {Data: []byte(c.gateway + "upstreams:\n  up: {url: \"http://127.0.0.1:1\"}\n")},
				"p.yaml":       {Data: []byte("name: p\npath: /p\nsteps:\n  s: {upstream: up, path: /}\n")},
			}
			plan, err := pipeline.Load(fsys, "", pipeline.LoadOptions{Listen: c.listen})
			if err != nil {
				t.Fatal(err)
			}
			if s := plan.Gateway.Server; s.Listen != c.wantListen || s.PublicURL != c.wantPublic {
				t.Errorf("listen %q public_url %q, want %q %q", s.Listen, s.PublicURL, c.wantListen, c.wantPublic)
			}
		})
	}
}
