package control

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/manifoldgw/manifold/internal/natstest"
)

// fakeLocal records what the cluster asked of one replica.
type fakeLocal struct {
	mu      sync.Mutex
	calls   []string
	block   chan struct{} // when set, Reload waits for it
	refuse  bool          // when set, ForceBreaker answers 404
	breaker []Breaker
}

func (f *fakeLocal) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeLocal) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeLocal) Load(context.Context) Load {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Load{InFlight: 7, OpenBreakers: f.breaker}
}

func (f *fakeLocal) Reload(ctx context.Context) (any, error) {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
		}
	}
	f.record("reload by " + OriginOf(ctx))
	return map[string]bool{"ok": true}, nil
}

func (f *fakeLocal) Purge(ctx context.Context, s PurgeScope) (any, error) {
	f.record(fmt.Sprintf("purge %+v by %s", s, OriginOf(ctx)))
	return map[string]any{"purged": s}, nil
}

func (f *fakeLocal) ForceBreaker(ctx context.Context, upstream, state string) (any, error) {
	if f.refuse {
		return nil, &ActionError{Code: http.StatusNotFound, Slug: "not-found", Detail: "no upstream " + upstream}
	}
	f.record("breaker " + upstream + " " + state + " by " + OriginOf(ctx))
	return map[string]string{"state": state}, nil
}

// replica is one simulated gateway replica: a connection to its own NATS
// node, its control service and its local actions.
type replica struct {
	nc    *nats.Conn
	svc   *Service
	local *fakeLocal
	plan  *plan
}

type plan struct {
	mu sync.Mutex
	p  Plan
}

func (p *plan) get() Plan     { p.mu.Lock(); defer p.mu.Unlock(); return p.p }
func (p *plan) set(next Plan) { p.mu.Lock(); defer p.mu.Unlock(); p.p = next }
func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// startReplicas runs n replicas of cluster name, replica i on node i%len.
func startReplicas(t *testing.T, c *natstest.Cluster, name string, n int) []*replica {
	t.Helper()
	out := make([]*replica, n)
	for i := range n {
		r := &replica{nc: connect(t, c.Nodes[i%len(c.Nodes)].URL()), local: &fakeLocal{}, plan: &plan{p: Plan{Revision: "1", Hash: "h1"}}}
		svc, err := Start(r.nc, Config{
			Cluster: name, Replica: fmt.Sprintf("%s-r%d", name, i+1), Address: fmt.Sprintf("127.0.0.1:80%02d", i+1),
			Version: "dev", Plan: r.plan.get, Local: r.local, RefreshEvery: 50 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Stop() })
		r.svc = svc
		out[i] = r
	}
	waitServing(t, c, name, n)
	return out
}

// waitServing waits until n replicas of cluster answer status through
// every node: a subscription made on one node reaches the others' routes
// shortly after, and status is the last endpoint a replica subscribes.
func waitServing(t *testing.T, c *natstest.Cluster, cluster string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, node := range c.Nodes {
		cli := newClient(t, connect(t, node.URL()), cluster, ClientOptions{Timeout: time.Second, Remember: -1})
		for {
			res, err := cli.Status(t.Context())
			if err == nil && len(res.Acted) == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d replicas of %s do not all answer through %s: %+v, %v", n, cluster, node.URL(), res, err)
			}
		}
	}
}

func newClient(t *testing.T, nc *nats.Conn, cluster string, opts ClientOptions) *Client {
	t.Helper()
	c, err := NewClient(nc, cluster, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitDiscovered waits until discovery through c lists want replicas: a
// subscription made on one node reaches the others' routes shortly after.
func waitDiscovered(t *testing.T, c *Client, want int) []Replica {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := c.Discover(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == want || time.Now().After(deadline) {
			return got
		}
	}
}

func ids[T Reply | Replica](items []T) []string {
	out := []string{}
	for _, it := range items {
		switch v := any(it).(type) {
		case Reply:
			out = append(out, v.Replica)
		case Replica:
			out = append(out, v.ID)
		}
	}
	return out
}

// TestDiscoveryListsEveryReplica: the services API lists the 3 replicas of
// the cluster, each on its own NATS node, and not the replica of another
// cluster on the same NATS.
func TestDiscoveryListsEveryReplica(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	startReplicas(t, c, "prod", 3)
	startReplicas(t, c, "staging", 1)
	cli := newClient(t, connect(t, c.Nodes[0].URL()), "prod", ClientOptions{})
	got := waitDiscovered(t, cli, 3)
	if want := []string{"prod-r1", "prod-r2", "prod-r3"}; !slices.Equal(ids(got), want) {
		t.Fatalf("discovered %v, want %v", ids(got), want)
	}
	if got[1].Address != "127.0.0.1:8002" {
		t.Errorf("address of prod-r2: %q", got[1].Address)
	}
}

// TestActionsReachEveryReplica: purge, breaker force and reload from the
// command line reach all 3 replicas and no replica of another cluster,
// and the answer lists the 3.
func TestActionsReachEveryReplica(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	reps := startReplicas(t, c, "prod", 3)
	other := startReplicas(t, c, "staging", 1)
	cli := newClient(t, connect(t, c.Nodes[1].URL()), "prod", ClientOptions{})
	waitDiscovered(t, cli, 3)
	ctx := t.Context()
	checks := []struct {
		do   func() (Result, error)
		call string
	}{
		{func() (Result, error) { return cli.Purge(ctx, PurgeScope{Upstream: "inventory"}) }, "purge {All:false Pipeline: Upstream:inventory} by cli"},
		{func() (Result, error) { return cli.ForceBreaker(ctx, "inventory", "open") }, "breaker inventory open by cli"},
		{func() (Result, error) { return cli.Reload(ctx) }, "reload by cli"},
	}
	for i, ch := range checks {
		res, err := ch.do()
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"prod-r1", "prod-r2", "prod-r3"}; !slices.Equal(ids(res.Acted), want) || len(res.Failed)+len(res.NotAnswered) != 0 {
			t.Fatalf("%s: acted %v, failed %v, not answered %v", ch.call, ids(res.Acted), ids(res.Failed), ids(res.NotAnswered))
		}
		for _, r := range reps {
			if calls := r.local.called(); len(calls) != i+1 || calls[i] != ch.call {
				t.Errorf("replica calls %q, want %q last", calls, ch.call)
			}
		}
	}
	if calls := other[0].local.called(); len(calls) != 0 {
		t.Errorf("the staging replica acted on prod's requests: %q", calls)
	}
}

// TestStatusReportsEachReplica: status lists each replica's address, plan,
// uptime, requests in flight and open breakers.
func TestStatusReportsEachReplica(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	reps := startReplicas(t, c, "prod", 3)
	reps[2].local.breaker = []Breaker{{Upstream: "inventory", State: "open"}}
	reps[2].plan.set(Plan{Revision: "2", Hash: "h2"})
	cli := newClient(t, connect(t, c.Nodes[0].URL()), "prod", ClientOptions{})
	waitDiscovered(t, cli, 3)
	res, err := cli.Status(t.Context())
	if err != nil || len(res.Acted) != 3 {
		t.Fatalf("status: %v, %+v", err, res)
	}
	var st Status
	if err := json.Unmarshal(res.Acted[2].Result, &st); err != nil {
		t.Fatal(err)
	}
	if st.Replica != "prod-r3" || st.Address != "127.0.0.1:8003" || st.Plan != (Plan{Revision: "2", Hash: "h2"}) ||
		st.InFlight != 7 || len(st.OpenBreakers) != 1 || st.OpenBreakers[0].Upstream != "inventory" || st.UptimeS <= 0 {
		t.Errorf("status of prod-r3: %+v", st)
	}
}

// TestStoppedReplicaIsReportedNotAnswering: a replica whose service
// stopped, and one whose connection closed, are listed as not answering
// by a client that saw them, within the deadline.
func TestStoppedReplicaIsReportedNotAnswering(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	reps := startReplicas(t, c, "prod", 3)
	cli := newClient(t, connect(t, c.Nodes[0].URL()), "prod", ClientOptions{Timeout: time.Second})
	waitDiscovered(t, cli, 3)
	if err := reps[2].svc.Stop(); err != nil {
		t.Fatal(err)
	}
	reps[1].nc.Close()
	start := time.Now()
	res, err := cli.Purge(t.Context(), PurgeScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the fan-out took %s with a 1s deadline", took)
	}
	if !slices.Equal(ids(res.Acted), []string{"prod-r1"}) || !slices.Equal(ids(res.NotAnswered), []string{"prod-r2", "prod-r3"}) {
		t.Errorf("acted %v, not answered %v; want [prod-r1], [prod-r2 prod-r3]", ids(res.Acted), ids(res.NotAnswered))
	}
}

// TestSlowReplicaIsReportedNotAnswering: a replica that answers discovery
// but not the action in time is listed as not answering, even by a client
// that never saw it before.
func TestSlowReplicaIsReportedNotAnswering(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	reps := startReplicas(t, c, "prod", 3)
	reps[1].local.block = make(chan struct{})
	defer close(reps[1].local.block)
	waitDiscovered(t, newClient(t, connect(t, c.Nodes[0].URL()), "prod", ClientOptions{}), 3)
	cli := newClient(t, connect(t, c.Nodes[2].URL()), "prod", ClientOptions{Timeout: 700 * time.Millisecond, Remember: -1})
	res, err := cli.Reload(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(res.Acted), []string{"prod-r1", "prod-r3"}) || !slices.Equal(ids(res.NotAnswered), []string{"prod-r2"}) {
		t.Errorf("acted %v, not answered %v", ids(res.Acted), ids(res.NotAnswered))
	}
}

// TestRefusedActionIsReportedFailed: a replica that cannot act answers
// why, with the admin API's status.
func TestRefusedActionIsReportedFailed(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	reps := startReplicas(t, c, "prod", 3)
	reps[0].local.refuse = true
	cli := newClient(t, connect(t, c.Nodes[0].URL()), "prod", ClientOptions{})
	waitDiscovered(t, cli, 3)
	res, err := cli.ForceBreaker(t.Context(), "inventory", "open")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 || res.Failed[0].Replica != "prod-r1" || res.Failed[0].Code != 404 || res.Failed[0].Error != "no upstream inventory" {
		t.Errorf("failed: %+v", res.Failed)
	}
	if !slices.Equal(ids(res.Acted), []string{"prod-r2", "prod-r3"}) {
		t.Errorf("acted %v", ids(res.Acted))
	}
}

// TestReplicaClientSkipsItself: a replica's own client (the admin API's
// fan-out) asks the others only: the replica has acted already.
func TestReplicaClientSkipsItself(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	reps := startReplicas(t, c, "prod", 3)
	waitDiscovered(t, newClient(t, reps[0].nc, "prod", ClientOptions{}), 3)
	res, err := reps[0].svc.Client().Purge(t.Context(), PurgeScope{Pipeline: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(res.Acted), []string{"prod-r2", "prod-r3"}) || len(res.NotAnswered) != 0 {
		t.Errorf("acted %v, not answered %v", ids(res.Acted), ids(res.NotAnswered))
	}
	if calls := reps[0].local.called(); len(calls) != 0 {
		t.Errorf("the origin acted on its own fan-out: %q", calls)
	}
	if calls := reps[1].local.called(); len(calls) != 1 || calls[0] != "purge {All:false Pipeline:p Upstream:} by prod-r1" {
		t.Errorf("prod-r2 calls: %q", calls)
	}
}

// TestMetadataFollowsThePlan: `nats micro info` shows the plan a replica
// serves after it changed.
func TestMetadataFollowsThePlan(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	reps := startReplicas(t, c, "prod", 1)
	nc := connect(t, c.Nodes[1].URL())
	reps[0].plan.set(Plan{Revision: "9", Hash: "h9"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		msg, err := nc.Request("$SRV.INFO."+ServiceName, nil, time.Second)
		if err == nil {
			var info struct {
				Metadata map[string]string `json:"metadata"`
				Version  string            `json:"version"`
			}
			if json.Unmarshal(msg.Data, &info) == nil && info.Metadata[MetaRevision] == "9" && info.Metadata[MetaHash] == "h9" {
				if info.Version != "0.0.0-dev" || info.Metadata[MetaReplica] != "prod-r1" || info.Metadata[MetaCluster] != "prod" {
					t.Errorf("info: %+v", info)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the metadata never showed revision 9: %v", err)
		}
	}
}

// TestClientWithoutNATS: a closed connection is an error, not an empty
// cluster.
func TestClientWithoutNATS(t *testing.T) {
	n := natstest.Server(t)
	nc := connect(t, n.URL())
	cli := newClient(t, nc, "prod", ClientOptions{})
	nc.Close()
	if _, err := cli.Status(t.Context()); err != ErrNoNATS {
		t.Errorf("status on a closed connection: %v, want ErrNoNATS", err)
	}
}

func TestSemver(t *testing.T) {
	for in, want := range map[string]string{"v1.2.3": "1.2.3", "1.2.3-rc.1": "1.2.3-rc.1", "dev": "0.0.0-dev", "": "0.0.0-unknown", "a b": "0.0.0-a-b"} {
		if got := semver(in); got != want {
			t.Errorf("semver(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClusterNameIsOneSubjectToken(t *testing.T) {
	for _, bad := range []string{"", "a.b", "a b", "a*", ">"} {
		if _, err := NewClient(nil, bad, ClientOptions{}); err == nil {
			t.Errorf("cluster name %q accepted", bad)
		}
	}
}
