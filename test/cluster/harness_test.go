package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/bundle"
	"github.com/manifoldgw/manifold/internal/logtest"
	"github.com/manifoldgw/manifold/internal/natstest"
	"github.com/manifoldgw/manifold/internal/server"
)

// bin is the manifold binary TestMain builds once for every test.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "manifold-cluster-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "manifold")
	args := []string{"build", "-o", bin}
	if raceBuild {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "github.com/manifoldgw/manifold/cmd/manifold")...).CombinedOutput()
	code := 1
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// Harness is one cluster for one test: NATS nodes routed together, a
// backend, a pipeline directory to push, and gateway replicas started as
// processes with `manifold serve --nats`. Everything stops at the end of
// the test.
type Harness struct {
	t    *testing.T
	NATS *natstest.Cluster
	Name string // the cluster's name
	// Connect is the NATS URL the replicas are given: the first node
	// only, so that a test can kill the node they are connected to (they
	// learn the others from it and fail over).
	Connect string
	// Backend answers the pipelines' upstream calls; Env is the
	// environment of pushes and replicas (BACKEND_URL and what a test
	// adds).
	Backend *httptest.Server
	Env     map[string]string

	nc *nats.Conn
	js jetstream.JetStream
}

// New starts a cluster of nodes NATS servers (one: a single server) and
// the backend.
func New(t *testing.T, nodes int) *Harness {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"text":"hello","path":%q}`, r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	nc := &natstest.Cluster{}
	if nodes == 1 {
		nc.Nodes = append(nc.Nodes, natstest.Server(t))
	} else {
		nc = natstest.StartCluster(t, nodes)
	}
	h := &Harness{t: t, NATS: nc, Name: "test", Backend: backend,
		Env: map[string]string{"BACKEND_URL": backend.URL}}
	h.Connect = h.NATS.Nodes[0].URL()
	conn, err := nats.Connect(h.NATS.URLs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	h.nc = conn
	h.js, _ = jetstream.New(conn)
	return h
}

// Dir writes a pipeline directory of files (name: content) and returns it.
func (h *Harness) Dir(files map[string]string) string {
	h.t.Helper()
	dir := h.t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			h.t.Fatal(err)
		}
	}
	return dir
}

// run runs the binary with args and the harness's environment plus env,
// and returns its output.
func (h *Harness) run(env map[string]string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = h.environ(env)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (h *Harness) environ(extra map[string]string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range h.Env {
		env = append(env, k+"="+v)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

var pushed = regexp.MustCompile(`pushed revision (\d+)`)

// Push runs `manifold push dir` (with env besides the harness's) and
// returns the revision stored.
func (h *Harness) Push(dir string, env map[string]string) uint64 {
	h.t.Helper()
	out, err := h.run(env, "push", dir, "--nats", h.NATS.URLs(), "--cluster", h.Name)
	m := pushed.FindStringSubmatch(out)
	if err != nil || m == nil {
		h.t.Fatalf("manifold push: %v\n%s", err, out)
	}
	rev, _ := strconv.ParseUint(m[1], 10, 64)
	return rev
}

// Rollback runs `manifold rollback --to rev` and returns the new revision.
func (h *Harness) Rollback(rev uint64) uint64 {
	h.t.Helper()
	out, err := h.run(nil, "rollback", "--to", strconv.FormatUint(rev, 10), "--nats", h.NATS.URLs(), "--cluster", h.Name)
	m := regexp.MustCompile(`revision (\d+) is revision`).FindStringSubmatch(out)
	if err != nil || m == nil {
		h.t.Fatalf("manifold rollback: %v\n%s", err, out)
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// Replica is one gateway process.
type Replica struct {
	ID   string
	Base string // http://127.0.0.1:port
	// admin delivers the admin API's base URL once the replica logs it
	// (gateway.yaml sets admin.key; pass --admin-listen 127.0.0.1:0 to
	// Start); read it with AdminURL.
	admin chan string
	cmd   *exec.Cmd
	logs  *logtest.Buffer
	exit  chan error
}

// Start starts replica id with the harness's environment plus env, and
// waits until it listens (its plan loaded from the cluster, or from the
// directory of a --dir in args).
func (h *Harness) Start(id string, env map[string]string, args ...string) *Replica {
	h.t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--nats", h.Connect, "--cluster", h.Name, "--replica", id,
		"--listen", "127.0.0.1:0", "--drain-timeout", "2s"}, args...)...)
	cmd.Env = h.environ(env)
	cmd.Dir = h.t.TempDir() // the replica's own audit spool (./data)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	r := &Replica{ID: id, cmd: cmd, logs: &logtest.Buffer{}, exit: make(chan error, 1), admin: make(chan string, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			r.logs.Write(append(sc.Bytes(), '\n'))
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				switch line.Msg {
				case "gateway listening":
					addr <- line.Addr
				case "admin API listening":
					r.admin <- "http://" + line.Addr
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		r.exit <- cmd.Wait()
	}()
	h.t.Cleanup(func() { r.stop(h.t) })
	select {
	case a := <-addr:
		r.Base = "http://" + a
		return r
	case err := <-r.exit:
		h.t.Fatalf("replica %s exited before listening: %v\n%s", id, err, r.logs)
	case <-time.After(30 * time.Second):
		h.t.Fatalf("replica %s did not listen within 30s\n%s", id, r.logs)
	}
	return nil
}

// stop ends the replica with SIGTERM (SIGKILL after a few seconds).
func (r *Replica) stop(t *testing.T) {
	if r.cmd.ProcessState != nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exit:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exit
		t.Logf("replica %s did not stop on SIGTERM", r.ID)
	}
}

// Kill kills the replica with SIGKILL and waits for it to be gone.
func (r *Replica) Kill() {
	_ = r.cmd.Process.Kill()
	<-r.exit
}

// AdminURL is the admin API's base URL, once the replica logged it
// (within 10 s of listening).
func (r *Replica) AdminURL(t *testing.T) string {
	t.Helper()
	select {
	case a := <-r.admin:
		r.admin <- a // for the next call
		return a
	case <-time.After(10 * time.Second):
		t.Fatalf("replica %s logged no admin listener (admin.key set? --admin-listen given?)", r.ID)
	}
	return ""
}

// Logs is what the replica logged so far.
func (r *Replica) Logs() string { return r.logs.String() }

// Ready returns the replica's /readyz answer and status code.
func (r *Replica) Ready(t *testing.T) (server.Readiness, int) {
	t.Helper()
	resp, err := http.Get(r.Base + "/readyz")
	if err != nil {
		t.Fatalf("replica %s /readyz: %v", r.ID, err)
	}
	defer resp.Body.Close()
	var rd server.Readiness
	if err := json.NewDecoder(resp.Body).Decode(&rd); err != nil || rd.Plan == nil {
		t.Fatalf("replica %s /readyz: %v (plan %v)", r.ID, err, rd.Plan)
	}
	return rd, resp.StatusCode
}

// Get calls path on the replica and returns the status and body.
func (r *Replica) Get(path string) (int, string, error) {
	resp, err := http.Get(r.Base + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// Eventually polls cond every 20ms until it holds or within passes; it
// returns how long it took.
func Eventually(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Errorf("not within %s: %s", within, what)
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// Statuses returns every live replica's status from the cluster.
func (h *Harness) Statuses() map[string]bundle.ReplicaStatus {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := bundle.OpenStatuses(ctx, h.js, h.Name)
	if err != nil {
		h.t.Fatal(err)
	}
	list, err := s.List(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]bundle.ReplicaStatus{}
	for _, st := range list {
		out[st.Replica] = st
	}
	return out
}

// AuditCount is the number of audit events stored for pipeline (a
// message holds one event or a batch); 0 when the stream cannot be read
// now (a leader election), which callers poll past.
func (h *Harness) AuditCount(pipeline string) uint64 {
	n := uint64(0)
	if err := h.auditEvents(pipeline, func(jetstream.MsgMetadata, json.RawMessage) { n++ }); err != nil {
		return 0
	}
	return n
}

// auditEvents calls fn with every audit event stored for pipeline so far,
// and the metadata of the message that holds it.
func (h *Harness) auditEvents(pipeline string, fn func(jetstream.MsgMetadata, json.RawMessage)) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := h.js.OrderedConsumer(ctx, "MANIFOLD_AUDIT", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"manifold.audit.call." + pipeline}})
	if err != nil {
		return err
	}
	for {
		batch, err := c.FetchNoWait(500)
		if err != nil {
			return err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			evs, err := audit.Events(m.Data())
			if err != nil {
				return err
			}
			for _, ev := range evs {
				fn(*md, ev)
			}
		}
		if err := batch.Error(); err != nil {
			return err
		}
		if got == 0 {
			return ctx.Err()
		}
	}
}

// Load calls path on replicas round robin from workers goroutines until
// ctx ends, and counts what they got.
func Load(ctx context.Context, replicas []*Replica, path string, workers int) *LoadResult {
	res := &LoadResult{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; i += workers {
				r := replicas[i%len(replicas)]
				start := time.Now()
				status, body, err := r.Get(path)
				res.add(status, body, err, time.Since(start))
			}
		})
	}
	res.wait = wg.Wait
	return res
}

// LoadResult counts the answers of Load.
type LoadResult struct {
	wait func()
	mu   sync.Mutex
	OK   int
	Bad  []string // what went wrong, one entry per failed request
	Max  time.Duration
}

func (l *LoadResult) add(status int, body string, err error, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Max = max(l.Max, took)
	switch {
	case err != nil:
		l.Bad = append(l.Bad, err.Error())
	case status != http.StatusOK:
		l.Bad = append(l.Bad, fmt.Sprintf("%d %s", status, body))
	default:
		l.OK++
	}
}

// Wait waits for the workers to stop (after ctx ended).
func (l *LoadResult) Wait() { l.wait() }

// tail is the last n lines of s, for failure messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// AuditWaits returns, for every audit event stored for pipeline (want
// of them), how long it waited between the call's start and JetStream
// storing it.
func (h *Harness) AuditWaits(pipeline string, want uint64) []time.Duration {
	h.t.Helper()
	var out []time.Duration
	Eventually(h.t, 20*time.Second, "every audit event read back", func() bool {
		out = out[:0]
		err := h.auditEvents(pipeline, func(md jetstream.MsgMetadata, raw json.RawMessage) {
			var ev struct{ Time time.Time }
			if json.Unmarshal(raw, &ev) == nil {
				out = append(out, md.Timestamp.Sub(ev.Time))
			}
		})
		return err == nil && uint64(len(out)) >= want
	})
	return out
}

// AuditStreamLeader creates the audit stream (three replicas, as the
// gateway creates it: the replicas then only update it) and returns the
// node that leads it, so that a test can connect the replicas to that
// node and kill it.
func (h *Harness) AuditStreamLeader() *natstest.Node {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := h.js.CreateStream(ctx, jetstream.StreamConfig{Name: "MANIFOLD_AUDIT", Subjects: []string{"manifold.audit.>"},
		Storage: jetstream.FileStorage, Replicas: 3})
	if err != nil {
		h.t.Fatal(err)
	}
	for ctx.Err() == nil {
		if info, err := s.Info(ctx); err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
			for _, n := range h.NATS.Nodes {
				if n.Server() != nil && n.Server().Name() == info.Cluster.Leader {
					return n
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatal("the audit stream has no leader")
	return nil
}
