package launch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// TestClusterNeedsExternalNATS: cluster mode on the embedded server is
// refused at start, at the cluster key; without `cluster:` nothing needs
// NATS when audit is off.
func TestClusterNeedsExternalNATS(t *testing.T) {
	dir := t.TempDir()
	gw := "upstreams:\n  api: {url: http://127.0.0.1:1}\naudit: {nats: off}\ncluster:\n  name: prod\n"
	if err := os.WriteFile(filepath.Join(dir, "gateway.yaml"), []byte(gw), 0o600); err != nil {
		t.Fatal(err)
	}
	plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = openShared(plan, Options{}, nil)
	if err == nil || !strings.Contains(err.Error(), "gateway.yaml:5:7: cluster: cluster mode needs a NATS every replica reaches") {
		t.Fatalf("openShared: %v, want the located error", err)
	}
	plan.Gateway.Cluster = nil
	s, err := openShared(plan, Options{Replica: "r1"}, nil)
	if err != nil || s.Conn != nil || s.Clustered() || s.Replica != "r1" {
		t.Fatalf("one process with audit off: %+v, %v", s, err)
	}
}
