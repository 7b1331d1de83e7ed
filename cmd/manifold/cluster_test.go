package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/manifoldgw/manifold/internal/control"
	"github.com/manifoldgw/manifold/internal/natstest"
)

// replicaLocal is a replica's local actions, as the CLI tests need them.
type replicaLocal struct {
	mu     sync.Mutex
	purged []control.PurgeScope
}

func (l *replicaLocal) Load(context.Context) control.Load {
	return control.Load{InFlight: 2, OpenBreakers: []control.Breaker{{Upstream: "inventory", State: "open"}}}
}
func (l *replicaLocal) purges() []control.PurgeScope {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]control.PurgeScope(nil), l.purged...)
}
func (l *replicaLocal) Reload(context.Context) (any, error) { return map[string]bool{"ok": true}, nil }
func (l *replicaLocal) Purge(_ context.Context, s control.PurgeScope) (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.purged = append(l.purged, s)
	return map[string]any{"purged": s}, nil
}
func (l *replicaLocal) ForceBreaker(_ context.Context, up, _ string) (any, error) {
	return nil, &control.ActionError{Code: 404, Slug: "not-found", Detail: "no upstream " + up}
}

// startCluster runs 3 replicas of cluster "prod", one per NATS node, and
// waits until discovery lists them.
func startCluster(t *testing.T) (*natstest.Cluster, []*replicaLocal) {
	t.Helper()
	c := natstest.StartCluster(t, 3)
	var locals []*replicaLocal
	for i, node := range c.Nodes {
		nc, err := nats.Connect(node.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		l := &replicaLocal{}
		svc, err := control.Start(nc, control.Config{
			Cluster: "prod", Replica: fmt.Sprintf("r%d", i+1), Address: fmt.Sprintf("10.0.0.%d:8080", i+1), Version: "1.0.0",
			Plan: func() control.Plan { return control.Plan{Revision: "4", Hash: "0123456789abcdef0123"} }, Local: l,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Stop() })
		locals = append(locals, l)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, node := range c.Nodes {
		nc, err := nats.Connect(node.URL())
		if err != nil {
			t.Fatal(err)
		}
		cli, _ := control.NewClient(nc, "prod", control.ClientOptions{Timeout: time.Second, Remember: -1})
		for {
			res, err := cli.Status(t.Context())
			if err == nil && len(res.Acted) == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the replicas do not all answer through %s: %+v %v", node.URL(), res, err)
			}
		}
		nc.Close()
	}
	return c, locals
}

// TestClusterStatus runs `manifold cluster status` against 3 replicas on
// a 3-node NATS cluster: one line each with id, address, plan, uptime,
// requests in flight and open breakers; and the same as JSON.
func TestClusterStatus(t *testing.T) {
	c, _ := startCluster(t)
	stdout, _, err := execute(t, "cluster", "status", "--nats", c.Nodes[1].URL(), "--cluster", "prod")
	if err != nil {
		t.Fatalf("cluster status: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "REPLICA") {
		t.Fatalf("want a header and 3 lines:\n%s", stdout)
	}
	for i, line := range lines[1:] {
		want := fmt.Sprintf(`^r%d\s+10\.0\.0\.%d:8080\s+4\s+0123456789ab\s+\d+s\s+2\s+inventory \(open\)$`, i+1, i+1)
		if !regexp.MustCompile(want).MatchString(line) {
			t.Errorf("line %d %q does not match %s", i+1, line, want)
		}
	}
	stdout, _, err = execute(t, "cluster", "status", "--nats", c.URLs(), "--cluster", "prod", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var out statusJSON
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if len(out.Replicas) != 3 || out.Replicas[2].Replica != "r3" || out.Replicas[2].Plan.Revision != "4" || out.Replicas[2].InFlight != 2 {
		t.Errorf("--json: %+v", out)
	}
}

// TestClusterStatusErrors: NATS unreachable, and no replica of the named
// cluster, are errors that say so.
func TestClusterStatusErrors(t *testing.T) {
	c, _ := startCluster(t)
	withPassword := strings.Replace(c.Nodes[0].URL(), "nats://", "nats://ops:s3cret-pass@", 1)
	_, _, err := execute(t, "cluster", "status", "--nats", withPassword, "--cluster", "staging", "--timeout", "500ms")
	if err == nil || !strings.Contains(err.Error(), `no replica of cluster "staging" answered`) {
		t.Errorf("wrong cluster: %v", err)
	} else if strings.Contains(err.Error(), "s3cret-pass") {
		t.Errorf("the error shows the NATS password: %v", err)
	}
	down := natstest.Server(t)
	url := down.URL()
	down.Stop()
	_, _, err = execute(t, "cluster", "status", "--nats", url)
	if err == nil || !strings.Contains(err.Error(), "cannot reach the cluster: NATS "+url) {
		t.Errorf("NATS down: %v", err)
	}
	_, _, err = execute(t, "cluster", "status", "--nats", url, "--cluster", "a.b")
	if err == nil || !strings.Contains(err.Error(), "cluster name") {
		t.Errorf("bad cluster name: %v", err)
	}
}

// TestClusterActions: purge reaches every replica; a breaker no replica
// knows fails on each, and the command fails.
func TestClusterActions(t *testing.T) {
	c, locals := startCluster(t)
	stdout, _, err := execute(t, "cluster", "purge", "--upstream", "inventory", "--nats", c.Nodes[2].URL(), "--cluster", "prod")
	if err != nil {
		t.Fatalf("purge: %v\n%s", err, stdout)
	}
	for i, l := range locals {
		if p := l.purges(); len(p) != 1 || p[0].Upstream != "inventory" {
			t.Errorf("r%d purged %+v", i+1, p)
		}
		if !strings.Contains(stdout, fmt.Sprintf("r%d  10.0.0.%d:8080  done", i+1, i+1)) {
			t.Errorf("output lacks r%d done:\n%s", i+1, stdout)
		}
	}
	stdout, _, err = execute(t, "cluster", "breaker", "nope", "open", "--nats", c.Nodes[0].URL(), "--cluster", "prod")
	if err == nil || err.Error() != "3 of 3 replicas did not act" || !strings.Contains(stdout, "failed (404): no upstream nope") {
		t.Errorf("breaker on an unknown upstream: %v\n%s", err, stdout)
	}
	if _, _, err := execute(t, "cluster", "purge", "--nats", c.Nodes[0].URL()); err == nil || !strings.Contains(err.Error(), "say what to purge") {
		t.Errorf("purge without a scope: %v", err)
	}
}
