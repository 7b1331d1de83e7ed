//go:build browser

package browser

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGraphQLOverHTTPAudit runs graphql-http's conformance audit of the
// GraphQL-over-HTTP specification against the demo's /graphql: every
// audit, MUST, SHOULD and MAY, must pass. GRAPHQL_HTTP_MODULES names the
// node_modules directory holding graphql-http (.ci/run installs it).
func TestGraphQLOverHTTPAudit(t *testing.T) {
	modules := os.Getenv("GRAPHQL_HTTP_MODULES")
	if modules == "" {
		t.Fatal("set GRAPHQL_HTTP_MODULES to a node_modules directory with graphql-http (npm install graphql-http@1.23.1)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("this check needs node: %v", err)
	}
	// An ES module resolves packages from its own directory upwards, so
	// the script runs from a copy placed beside the modules.
	script, err := os.ReadFile("graphql-http-audit.mjs")
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(filepath.Dir(modules), "graphql-http-audit.mjs")
	if err := os.WriteFile(copyPath, script, 0o644); err != nil {
		t.Fatal(err)
	}
	base := startDemo(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, copyPath, base+"/graphql").CombinedOutput()
	report := string(out)
	t.Logf("graphql-http audit:\n%s", report)
	if err != nil {
		t.Fatalf("the audit failed: %v", err)
	}
	if !strings.Contains(report, " 0 failed, 0 warnings") {
		t.Errorf("some audits did not pass")
	}
}
