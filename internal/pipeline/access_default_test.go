package pipeline_test

import (
	"testing"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestDefaultAccessFollowsAuth: without defaults.access a pipeline is
// public only while nothing authenticates callers.
func TestDefaultAccessFollowsAuth(t *testing.T) {
	for _, c := range []struct {
		name, gateway string
		public        bool
	}{
		{"no auth: open", "", true},
		{"api keys configured: authenticated", "auth: {api_key: {header: X-API-Key}}\n", false},
		{"explicit public default", "auth: {api_key: {header: X-API-Key}}\ndefaults: {access: public}\n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{
				"gateway.yaml": {Data: []byte(c.gateway + "upstreams:\n  up: {url: \"http://127.0.0.1:1\"}\n")},
				"p.yaml":       {Data: []byte("name: p\npath: /p\nsteps:\n  s: {upstream: up, path: /}\n")},
			}
			plan, err := pipeline.Load(fsys, "", pipeline.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := plan.Pipeline("p").Access.Public; got != c.public {
				t.Errorf("public = %v, want %v", got, c.public)
			}
		})
	}
}
