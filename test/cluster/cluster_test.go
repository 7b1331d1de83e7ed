package cluster

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/bundle"
)

// gatewayYAML is the pushed gateway.yaml: the backend, a replicated audit
// stream, and cluster mode with a short stale_after for the tests. extra
// is appended to the backend upstream.
func gatewayYAML(extra string) string {
	return `upstreams:
  backend:
    url: ${BACKEND_URL}
` + extra + `audit:
  replicas: 3
cluster:
  stale_after: 1s
`
}

// helloYAML is a pipeline answering {text, version}.
func helloYAML(version string) string {
	return `name: hello
method: GET
path: /v1/hello
steps:
  greet: {upstream: backend, path: /greet}
output: '{text: .greet.text, version: ` + version + `}'
`
}

// version is the version the replica's hello pipeline answers.
func version(t *testing.T, r *Replica) string {
	t.Helper()
	status, body, err := r.Get("/v1/hello")
	if err != nil || status != 200 {
		t.Fatalf("replica %s: GET /v1/hello: %d %v %s", r.ID, status, err, body)
	}
	var v struct{ Version json.Number }
	_ = json.Unmarshal([]byte(body), &v)
	return v.Version.String()
}

// served is the revision a replica's /readyz says it serves.
func served(t *testing.T, r *Replica) uint64 {
	rd, _ := r.Ready(t)
	return rd.Plan.Revision
}

// TestPushRollback: a push is served by every replica within 2 s, each
// says which revision and plan it serves (/readyz, manifold_plan_info,
// audit events with its replica id), a rollback brings an earlier plan
// back, and a replica fed the same files from a directory shows the same
// plan hash.
func TestPushRollback(t *testing.T) {
	h := New(t, 3)
	v1 := h.Dir(map[string]string{"gateway.yaml": gatewayYAML(""), "hello.yaml": helloYAML("1")})
	r1 := h.Push(v1, nil)
	rs := []*Replica{h.Start("a", nil), h.Start("b", nil), h.Start("c", nil)}
	hash1 := ""
	for _, r := range rs {
		rd, code := r.Ready(t)
		if code != 200 || rd.Plan.Revision != r1 || rd.Plan.Replica != r.ID || rd.Plan.Cluster != "test" {
			t.Fatalf("replica %s /readyz %d: %+v, want revision %d", r.ID, code, rd.Plan, r1)
		}
		if hash1 == "" {
			hash1 = rd.Plan.Hash
		} else if rd.Plan.Hash != hash1 {
			t.Errorf("replica %s serves plan %s, others %s", r.ID, rd.Plan.Hash, hash1)
		}
		if v := version(t, r); v != "1" {
			t.Errorf("replica %s answers version %s, want 1", r.ID, v)
		}
	}

	v2 := h.Dir(map[string]string{"gateway.yaml": gatewayYAML(""), "hello.yaml": helloYAML("2")})
	pushedAt := time.Now()
	r2 := h.Push(v2, nil)
	Eventually(t, 2*time.Second-time.Since(pushedAt), "every replica serves the push within 2s", func() bool {
		for _, r := range rs {
			if served(t, r) != r2 {
				return false
			}
		}
		return true
	})
	t.Logf("push of revision %d served by all 3 replicas %s after `manifold push` started", r2, time.Since(pushedAt).Round(time.Millisecond))
	for _, r := range rs {
		if v := version(t, r); v != "2" {
			t.Errorf("replica %s answers version %s after the push, want 2", r.ID, v)
		}
	}
	checkPlanMetric(t, rs[0], r2)
	checkAuditStamp(t, h, rs)

	r3 := h.Rollback(r1)
	Eventually(t, 5*time.Second, "every replica serves the rollback", func() bool {
		for _, r := range rs {
			if served(t, r) != r3 {
				return false
			}
		}
		return true
	})
	for _, r := range rs {
		if rd, _ := r.Ready(t); rd.Plan.Hash != hash1 || version(t, r) != "1" {
			t.Errorf("replica %s after rollback: plan %s (want %s), version %s", r.ID, rd.Plan.Hash, hash1, version(t, r))
		}
	}
	// --dir with cluster mode (a ConfigMap deployment): revision 0, and
	// the same hash for the same files.
	d := h.Start("d", nil, "--dir", v1)
	if rd, _ := d.Ready(t); rd.Plan.Revision != 0 || rd.Plan.Hash != hash1 {
		t.Errorf("replica from --dir: %+v, want revision 0 and plan %s", rd.Plan, hash1)
	}
}

// checkPlanMetric: manifold_plan_info names the revision served.
func checkPlanMetric(t *testing.T, r *Replica, rev uint64) {
	t.Helper()
	resp, err := http.Get(r.Base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "manifold_plan_info{") && strings.Contains(line, `revision="`+jsonUint(rev)+`"`) &&
			strings.Contains(line, `replica="`+r.ID+`"`) {
			return
		}
	}
	t.Errorf("no manifold_plan_info for revision %d and replica %s in /metrics", rev, r.ID)
}

func jsonUint(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// checkAuditStamp: audit events carry the replica that produced them and
// the plan it served.
func checkAuditStamp(t *testing.T, h *Harness, rs []*Replica) {
	t.Helper()
	want := map[string]bool{}
	for _, r := range rs {
		want[r.ID] = true
	}
	Eventually(t, 10*time.Second, "an audit event from every replica", func() bool {
		seen := map[string]bool{}
		h.auditEvents("hello", func(_ jetstream.MsgMetadata, raw json.RawMessage) {
			var ev audit.Event
			if json.Unmarshal(raw, &ev) == nil && ev.PlanHash != "" && ev.PlanRevision != 0 {
				seen[ev.Replica] = true
			}
		})
		for id := range want {
			if !seen[id] {
				return false
			}
		}
		return true
	})
}

// TestPushOneReplicaCannotBuild: a revision that needs an environment
// variable one replica lacks is served by the others; that one keeps its
// previous revision serving, reports the failure to the cluster, and its
// /readyz says not ready once stale_after passed.
func TestPushOneReplicaCannotBuild(t *testing.T) {
	t.Parallel() // after TestPushRollback, whose 2 s bound runs alone
	h := New(t, 3)
	r1 := h.Push(h.Dir(map[string]string{"gateway.yaml": gatewayYAML(""), "hello.yaml": helloYAML("1")}), nil)
	extra := map[string]string{"EXTRA": "x"}
	a, b, c := h.Start("a", extra), h.Start("b", extra), h.Start("c", nil)
	r2 := h.Push(h.Dir(map[string]string{
		"gateway.yaml": gatewayYAML("    headers: {X-Extra: \"${EXTRA}\"}\n"), "hello.yaml": helloYAML("2"),
	}), extra)
	Eventually(t, 5*time.Second, "a and b serve the push", func() bool { return served(t, a) == r2 && served(t, b) == r2 })
	Eventually(t, 5*time.Second, "c reports the failure to the cluster", func() bool {
		return h.Statuses()["c"].Failed == r2
	})
	st := h.Statuses()["c"]
	if st.Revision != r1 || len(st.Errors) == 0 || !strings.Contains(strings.Join(st.Errors, "\n"), "EXTRA") {
		t.Errorf("c's status: %+v, want revision %d and an error naming EXTRA", st, r1)
	}
	if served(t, c) != r1 || version(t, c) != "1" {
		t.Errorf("c serves revision %d, version %s; want the old plan", served(t, c), version(t, c))
	}
	// The log is buffered (flushed every 100 ms).
	Eventually(t, 2*time.Second, "c's log says the reload failed", func() bool {
		return strings.Contains(c.Logs(), "reload failed: the previous plan keeps serving")
	})
	Eventually(t, 10*time.Second, "c's /readyz says not ready", func() bool {
		rd, code := c.Ready(t)
		return code == 503 && strings.Contains(rd.Checks["plan"], "failed here")
	})
	if _, code := a.Ready(t); code != 200 {
		t.Errorf("a's /readyz is %d, want 200", code)
	}
}

// TestNATSNodeKilledUnderLoad: killing the NATS node every replica is
// connected to, and which leads the audit stream, under load, fails no
// request and loses no audit event. It logs the slowest request and how
// long audit events waited to be stored (the stall a leader loss causes).
func TestNATSNodeKilledUnderLoad(t *testing.T) {
	t.Parallel() // after TestPushRollback, whose 2 s bound runs alone
	h := New(t, 3)
	h.Push(h.Dir(map[string]string{"gateway.yaml": gatewayYAML(""), "hello.yaml": helloYAML("1")}), nil)
	leader := h.AuditStreamLeader()
	h.Connect = leader.URL() // every replica is connected to the stream's leader
	rs := []*Replica{h.Start("a", nil), h.Start("b", nil), h.Start("c", nil)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	load := Load(ctx, rs, "/v1/hello", 6)
	ok := func() int { load.mu.Lock(); defer load.mu.Unlock(); return load.OK }
	Eventually(t, 20*time.Second, "load running", func() bool { return ok() > 100 })
	killedAt, before := time.Now(), ok()
	leader.Stop()
	Eventually(t, 30*time.Second, "load continues after the kill", func() bool { return ok() > before+600 })
	cancel()
	load.Wait()
	if len(load.Bad) > 0 {
		t.Fatalf("%d of %d requests failed after the NATS node was killed, first: %s", len(load.Bad), load.OK+len(load.Bad), load.Bad[0])
	}
	want := uint64(load.OK)
	caught := Eventually(t, 60*time.Second, "every request's audit event stored", func() bool { return h.AuditCount("hello") >= want })
	if got := h.AuditCount("hello"); got != want {
		t.Errorf("the stream holds %d events for %d requests", got, want)
	}
	waits := h.AuditWaits("hello", want)
	slices.Sort(waits)
	late := len(waits) - sort.Search(len(waits), func(i int) bool { return waits[i] > 100*time.Millisecond })
	t.Logf("NATS node (and audit stream leader) killed under load: %d requests, none failed, slowest %s; "+
		"audit events waited median %s, p99 %s, max %s to be stored (%d over 100ms); all stored %s after the kill (%s after the load ended)",
		want, load.Max.Round(time.Millisecond), waits[len(waits)/2].Round(time.Millisecond), waits[len(waits)*99/100].Round(time.Millisecond),
		waits[len(waits)-1].Round(time.Millisecond), late, time.Since(killedAt).Round(time.Millisecond), caught.Round(time.Millisecond))
}

// TestReplicaKilled: SIGKILL of one replica leaves the others serving
// every request.
func TestReplicaKilled(t *testing.T) {
	t.Parallel() // after TestPushRollback, whose 2 s bound runs alone
	h := New(t, 3)
	h.Push(h.Dir(map[string]string{"gateway.yaml": gatewayYAML(""), "hello.yaml": helloYAML("1")}), nil)
	a, b, c := h.Start("a", nil), h.Start("b", nil), h.Start("c", nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	load := Load(ctx, []*Replica{a, b}, "/v1/hello", 4)
	ok := func() int { load.mu.Lock(); defer load.mu.Unlock(); return load.OK }
	Eventually(t, 20*time.Second, "load running", func() bool { return ok() > 50 })
	c.Kill()
	before := ok()
	Eventually(t, 20*time.Second, "load continues after the kill", func() bool { return ok() > before+300 })
	cancel()
	load.Wait()
	if len(load.Bad) > 0 {
		t.Fatalf("%d requests to a and b failed after c was killed, first: %s", len(load.Bad), load.Bad[0])
	}
	for _, r := range []*Replica{a, b} {
		if _, code := r.Ready(t); code != 200 {
			t.Errorf("replica %s /readyz %d after c was killed", r.ID, code)
		}
	}
}

// TestPushChecksAndKeepsSecretsOut: push refuses a directory `manifold
// validate` refuses, with the same located errors and nothing stored; a
// sound one is stored with ${ENV} unresolved, so the environment's values
// (secrets) never enter NATS.
func TestPushChecksAndKeepsSecretsOut(t *testing.T) {
	t.Parallel()
	h := New(t, 1)
	broken := h.Dir(map[string]string{"gateway.yaml": gatewayYAML(""), "hello.yaml": helloYAML("1") + "bogus: key\n"})
	out, err := h.run(nil, "push", broken, "--nats", h.NATS.URLs(), "--cluster", h.Name)
	want, _ := h.run(nil, "validate", broken)
	if err == nil || !strings.Contains(out, "hello.yaml:7:1") || !strings.Contains(want, "hello.yaml:7:1") {
		t.Fatalf("push of a broken directory: %v\n%s\nvalidate says:\n%s", err, out, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := h.js.KeyValue(ctx, "manifold-config-test"); err == nil {
		t.Error("a refused push created the config bucket")
	}
	const secret = "s3cr3t-value-from-env"
	rev := h.Push(h.Dir(map[string]string{
		"gateway.yaml": gatewayYAML("    headers: {X-Key: \"${API_KEY}\"}\n"), "hello.yaml": helloYAML("1"),
	}), map[string]string{"API_KEY": secret})
	kv, err := h.js.KeyValue(ctx, "manifold-config-test")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.GetRevision(ctx, "bundle", rev)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Decode(e.Value())
	if err != nil {
		t.Fatal(err)
	}
	gw := string(b.Files["gateway.yaml"])
	if !strings.Contains(gw, "${API_KEY}") || strings.Contains(string(e.Value()), secret) || strings.Contains(gw, h.Backend.URL) {
		t.Errorf("the stored gateway.yaml resolved the environment:\n%s", gw)
	}
}
