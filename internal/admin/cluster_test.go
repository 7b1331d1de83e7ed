package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/manifoldgw/manifold/internal/control"
	"github.com/manifoldgw/manifold/internal/natstest"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/server"
)

// auditLog records one replica's audit events.
type auditLog struct {
	mu     sync.Mutex
	events []string
}

func (l *auditLog) record(_ context.Context, action string, details map[string]any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf("%s origin=%v", action, details["origin"]))
	return nil
}

func (l *auditLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// fakeReloader reloads nothing and remembers the trigger.
type fakeReloader struct {
	mu       sync.Mutex
	triggers []string
}

func (f *fakeReloader) Reload(_ context.Context, trigger string) ReloadStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.triggers = append(f.triggers, trigger)
	return ReloadStatus{OK: true, Trigger: trigger}
}

func (f *fakeReloader) Status() ReloadStatus { return ReloadStatus{} }

// clusterReplica is a gateway replica as the admin API sees it: its
// runtime, control service and admin API.
type clusterReplica struct {
	srv    *server.Server
	svc    *control.Service
	api    *API
	audit  *auditLog
	reload *fakeReloader
}

func startClusterReplicas(t *testing.T, c *natstest.Cluster) []*clusterReplica {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"gateway.yaml": "upstreams:\n  inventory: {url: \"https://inventory.example\"}\n",
		"p.yaml":       "name: p\npath: /p\ncache: 30s\nsteps:\n  s: {upstream: inventory, path: /items}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out []*clusterReplica
	for i, node := range c.Nodes {
		plan, err := pipeline.LoadDir(dir, pipeline.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rt, err := server.Build(plan, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rt.Close)
		r := &clusterReplica{srv: server.New(rt, server.Options{}), audit: &auditLog{}, reload: &fakeReloader{}}
		nc, err := nats.Connect(node.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		opts := Options{Key: testKey, Server: r.srv, Reloader: r.reload, Audit: r.audit.record}
		r.svc, err = control.Start(nc, control.Config{
			Cluster: "prod", Replica: fmt.Sprintf("r%d", i+1), Address: fmt.Sprintf("10.0.0.%d:8080", i+1),
			Local: NewActions(opts), RefreshEvery: 50 * time.Millisecond,
			Fanout: control.ClientOptions{Timeout: time.Second},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.svc.Stop() })
		opts.Cluster = r.svc.Client()
		if r.api, err = New(opts); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	// Every replica answers through every node (status is the endpoint a
	// replica subscribes last).
	deadline := time.Now().Add(10 * time.Second)
	for _, node := range c.Nodes {
		cli, _ := control.NewClient(connectTo(t, node.URL()), "prod", control.ClientOptions{Timeout: time.Second, Remember: -1})
		for {
			res, err := cli.Status(t.Context())
			if err == nil && len(res.Acted) == len(c.Nodes) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the replicas do not all answer through %s: %+v %v", node.URL(), res, err)
			}
		}
	}
	return out
}

func connectTo(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// call sends an admin request to one replica's API through HTTP.
func call(t *testing.T, api *API, method, path, body string) (int, map[string]any) {
	t.Helper()
	ts := httptest.NewServer(api)
	defer ts.Close()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	req.Header.Set(KeyHeader, testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// replicaIDs lists the ids of one member ("acted", "not_answered"...) of
// an answer's "replicas".
func replicaIDs(body map[string]any, member string) []string {
	reps, _ := body["replicas"].(map[string]any)
	list, _ := reps[member].([]any)
	out := []string{}
	for _, it := range list {
		out = append(out, it.(map[string]any)["replica"].(string))
	}
	return out
}

// TestAdminActionsReachEveryReplica: in cluster mode, a purge, a forced
// breaker and a reload asked of one replica's admin API happen on all 3,
// each replica audits what it did, and the answer lists the 3.
func TestAdminActionsReachEveryReplica(t *testing.T) {
	reps := startClusterReplicas(t, natstest.StartCluster(t, 3))
	all := []string{"r1", "r2", "r3"}

	status, body := call(t, reps[0].api, "POST", "/cache/purge", `{"upstream": "inventory"}`)
	if status != 200 || !slices.Equal(replicaIDs(body, "acted"), all) || body["purged"] == nil {
		t.Fatalf("purge: %d %v", status, body)
	}
	status, body = call(t, reps[1].api, "PUT", "/upstreams/inventory/breaker", `{"state": "open"}`)
	if status != 200 || !slices.Equal(replicaIDs(body, "acted"), all) {
		t.Fatalf("breaker: %d %v", status, body)
	}
	for i, r := range reps {
		if st := r.srv.Runtime().Upstream("inventory").BreakerState(); st != "open" {
			t.Errorf("r%d breaker %s, want open", i+1, st)
		}
	}
	status, body = call(t, reps[2].api, "POST", "/reload", "")
	if status != 200 || !slices.Equal(replicaIDs(body, "acted"), all) {
		t.Fatalf("reload: %d %v", status, body)
	}
	if got := reps[0].reload.triggers; !slices.Equal(got, []string{"cluster"}) {
		t.Errorf("r1 reload triggers %v, want [cluster]", got)
	}
	if got := reps[2].reload.triggers; !slices.Equal(got, []string{"admin"}) {
		t.Errorf("r3 reload triggers %v, want [admin]", got)
	}
	wantAudit := [][]string{
		{"cache.purge origin=<nil>", "breaker.force origin=r2"},
		{"cache.purge origin=r1", "breaker.force origin=<nil>"},
		{"cache.purge origin=r1", "breaker.force origin=r2"},
	}
	for i, r := range reps {
		if got := r.audit.list(); !slices.Equal(got, wantAudit[i]) {
			t.Errorf("r%d audited %q, want %q", i+1, got, wantAudit[i])
		}
	}
}

// TestAdminFanOutReportsAStoppedReplica: a replica that stopped is listed
// as not answering, and the others still act.
func TestAdminFanOutReportsAStoppedReplica(t *testing.T) {
	reps := startClusterReplicas(t, natstest.StartCluster(t, 3))
	// r1's client has seen the others: it remembers them.
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err := reps[0].svc.Client().Status(t.Context())
		if err == nil && len(res.Acted) == 2 || time.Now().After(deadline) {
			break
		}
	}
	if err := reps[2].svc.Stop(); err != nil {
		t.Fatal(err)
	}
	status, body := call(t, reps[0].api, "POST", "/cache/purge", `{"all": true}`)
	if status != 200 || !slices.Equal(replicaIDs(body, "acted"), []string{"r1", "r2"}) ||
		!slices.Equal(replicaIDs(body, "not_answered"), []string{"r3"}) {
		t.Errorf("purge with r3 stopped: %d %v", status, body)
	}
}

// TestAdminFanOutRefusals: a malformed request is refused before anything
// is asked of the cluster; a request this replica cannot serve (unknown
// upstream) is still asked of the others, and each failure is listed.
func TestAdminFanOutRefusals(t *testing.T) {
	reps := startClusterReplicas(t, natstest.StartCluster(t, 3))
	status, body := call(t, reps[0].api, "POST", "/cache/purge", `{"all": false}`)
	if status != 400 || body["replicas"] != nil {
		t.Errorf("half-typed purge: %d %v", status, body)
	}
	if got := reps[1].audit.list(); len(got) != 0 {
		t.Errorf("r2 acted on a malformed request: %q", got)
	}
	status, body = call(t, reps[0].api, "PUT", "/upstreams/nope/breaker", `{"state": "open"}`)
	if status != 404 || !slices.Equal(replicaIDs(body, "failed"), []string{"r1", "r2", "r3"}) || body["detail"] != "no upstream nope" {
		t.Errorf("unknown upstream: %d %v", status, body)
	}
}

// downCluster is a cluster whose NATS is away.
type downCluster struct{}

func (downCluster) Replica() (string, string) { return "r1", "10.0.0.1:8080" }
func (downCluster) Reload(context.Context) (control.Result, error) {
	return control.Result{}, control.ErrNoNATS
}
func (downCluster) Purge(context.Context, control.PurgeScope) (control.Result, error) {
	return control.Result{}, control.ErrNoNATS
}
func (downCluster) ForceBreaker(context.Context, string, string) (control.Result, error) {
	return control.Result{}, control.ErrNoNATS
}

// TestAdminFanOutWithoutNATS: with NATS away the action still happens on
// this replica, and the answer says the others were not asked.
func TestAdminFanOutWithoutNATS(t *testing.T) {
	api, _ := newAPI(t)
	api.opts.Cluster = downCluster{}
	status, body := call(t, api, "PUT", "/upstreams/inventory/breaker", `{"state": "open"}`)
	reps, _ := body["replicas"].(map[string]any)
	if status != 200 || !slices.Equal(replicaIDs(body, "acted"), []string{"r1"}) ||
		reps["error"] != "the other replicas were not asked: control: NATS is not connected" {
		t.Errorf("breaker with NATS away: %d %v", status, body)
	}
	if st := api.runtime().Upstream("inventory").BreakerState(); st != "open" {
		t.Errorf("breaker %s, want open", st)
	}
}
