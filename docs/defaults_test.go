package docs

import (
	"encoding/json"
	"testing"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// minimalDefaults is the defaults example with nothing but what is
// required: it must load to the same configuration.
var minimalDefaults = fstest.MapFS{
	"gateway.yaml": {Data: []byte("upstreams:\n  api: {url: \"${EXAMPLE_API_URL}\"}\n")},
	"status.yaml": {Data: []byte("name: status\npath: /v1/status\nparams:\n  verbose: {}\n  tags: {type: array}\n" +
		"steps:\n  ping: {upstream: api, path: /ping}\n")},
}

// TestDocumentedDefaults loads docs/examples/defaults, which writes every
// default out, and a directory that writes none: the documented defaults
// are right when both load to the same configuration.
func TestDocumentedDefaults(t *testing.T) {
	env := pipeline.LoadOptions{LookupEnv: func(string) (string, bool) { return "http://127.0.0.1:1", true }}
	written, err := pipeline.LoadDir("examples/defaults", env)
	if err != nil {
		t.Fatalf("load:\n%v", err)
	}
	minimal, err := pipeline.Load(minimalDefaults, "", env)
	if err != nil {
		t.Fatalf("load the minimal directory:\n%v", err)
	}
	// The listener's timeouts are defaulted where the listener is built.
	s := &minimal.Gateway.Server
	s.ReadHeaderTimeout = yamlconf.Duration(server.ReadHeaderTimeout)
	s.ReadTimeout = yamlconf.Duration(server.ReadTimeout)
	s.WriteTimeout = yamlconf.Duration(server.WriteTimeout)
	s.IdleTimeout = yamlconf.Duration(server.IdleTimeout)
	s.MaxHeaderBytes = server.MaxHeaderBytes
	// forwarded is left nil at load and read as true where calls are
	// built (pipeline.Compiled's forwarding).
	on := true
	for _, u := range minimal.Gateway.Upstreams {
		if u.Forwarded == nil {
			u.Forwarded = &on
		}
	}
	sameConfig(t, "gateway.yaml", written.Gateway, minimal.Gateway)

	wp, mp := *written.Pipelines[0].Pipeline, *minimal.Pipelines[0].Pipeline
	wp.File, wp.SHA256, mp.File, mp.SHA256 = "", "", "", ""
	sameConfig(t, "status.yaml", wp, mp)
}

func sameConfig(t *testing.T, what string, written, minimal any) {
	t.Helper()
	w, err := json.MarshalIndent(written, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	m, err := json.MarshalIndent(minimal, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if string(w) != string(m) {
		t.Errorf("%s: the defaults written out differ from those applied\n--- written\n%s\n--- applied\n%s", what, w, m)
	}
}
