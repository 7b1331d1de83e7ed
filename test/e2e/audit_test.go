package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/logtest"
)

// auditBackend answers /markets with a small list and /fail with 503.
func auditBackend(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"markets":[{"id":"m1","city":%q}]}`, r.URL.Query().Get("city"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// auditFiles is a pipeline directory: deals answers with its optional
// step failing; broken always fails (502).
func auditFiles(backend, audit string) map[string]string {
	return map[string]string{
		"gateway.yaml": fmt.Sprintf("upstreams:\n  api: {url: %q, retries: 0}\naudit: %s\n", backend, audit),
		"deals.yaml": `name: deals
path: /v1/deals/{city}
params:
  city: {in: path, type: string}
steps:
  markets: {upstream: api, path: /markets, query: {city: "${ .params.city }"}, select: .markets}
  flaky: {upstream: api, path: /fail, optional: true}
`,
		"broken.yaml": "name: broken\npath: /v1/broken\nsteps:\n  s: {upstream: api, path: /fail}\n",
	}
}

// sent is what a test sent and what the audit event must say.
type sent struct {
	surface, pipeline string
	status            int
}

// restCall sends GET base+path and returns the request id and status.
func restCall(t *testing.T, url string) (string, int) {
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return "", 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header.Get("Manifold-Request-Id"), resp.StatusCode
}

// TestAuditEventPerCall: with the default embedded NATS, every call
// through REST, GraphQL and MCP leaves exactly one event with the right
// facts, valid against the published schema, and the gateway's shutdown
// flushes them all into the stream on disk.
func TestAuditEventPerCall(t *testing.T) {
	backend := auditBackend(t)
	dataDir := t.TempDir()
	base, stop := serveDir(t, auditFiles(backend.URL, fmt.Sprintf("{listen: \"127.0.0.1:0\", data_dir: %q}", dataDir)))

	want := map[string]sent{}
	const n = 30
	for i := range n {
		path, pipeline, status := fmt.Sprintf("/v1/deals/c%d", i), "deals", 200
		if i%3 == 2 {
			path, pipeline, status = "/v1/broken", "broken", 502
		}
		id, got := restCall(t, base+path)
		if got != status || id == "" {
			t.Fatalf("GET %s: %d with request id %q, want %d", path, got, id, status)
		}
		want[id] = sent{"rest", pipeline, status}
	}
	gqlID := graphQLRun(t, base)
	want[gqlID] = sent{"graphql", "deals", 200}
	cs := connect(t, base, nil, nil)
	callTool(t, cs, "deals", map[string]any{"city": "Paris"})
	_ = cs.Close()
	if err := stop(); err != nil {
		t.Fatalf("gateway shutdown: %v", err)
	}

	events := readAudit(t, storeConn(t, filepath.Join(dataDir, "nats")))
	if len(events) != n+2 {
		t.Fatalf("%d events for %d calls", len(events), n+2)
	}
	sch := auditSchema(t)
	var mcpSeen bool
	for _, ev := range events {
		validateEvent(t, sch, ev.raw)
		d := ev.data
		if d.Surface == "mcp" {
			mcpSeen = d.Pipeline == "deals" && d.Status == 200 && ev.subject == "manifold.audit.call.deals"
			continue
		}
		w, ok := want[d.RequestID]
		if !ok {
			t.Errorf("event for unknown request %q: %s", d.RequestID, ev.raw)
			continue
		}
		delete(want, d.RequestID)
		if d.Surface != w.surface || d.Pipeline != w.pipeline || d.Status != w.status || ev.subject != "manifold.audit.call."+w.pipeline {
			t.Errorf("event %s on %s = %+v, want %+v", d.RequestID, ev.subject, d, w)
		}
		checkSteps(t, d)
	}
	if len(want) > 0 || !mcpSeen {
		t.Errorf("calls without an event: %v; MCP call seen: %v", want, mcpSeen)
	}
}

// checkSteps checks the per-step outcomes of an event.
func checkSteps(t *testing.T, d audit.CallData) {
	t.Helper()
	switch d.Pipeline {
	case "deals":
		if len(d.Steps) != 2 || d.Complete || len(d.Missing) != 1 || d.Missing[0] != "flaky" ||
			d.Steps[0].Status != 200 || d.Steps[0].Breaker != "closed" || d.Steps[1].Status != 503 || d.Steps[1].Error == "" {
			t.Errorf("deals event steps: %+v", d)
		}
	case "broken":
		if len(d.Steps) != 1 || d.Problem == "" || d.Steps[0].Error != "step s: upstream api answered 503" {
			t.Errorf("broken event: %+v", d)
		}
	}
	if strings.Contains(fmt.Sprint(d), "busy") {
		t.Errorf("event carries upstream body text: %+v", d)
	}
}

// graphQLRun runs deals through /graphql and returns the run's id.
func graphQLRun(t *testing.T, base string) string {
	t.Helper()
	body := `{"query":"{ run(pipeline: \"deals\", params: {city: \"Berlin\"}) { requestId status } }"}`
	resp, err := http.Post(base+"/graphql", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("graphql: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct{ Run struct{ RequestID string } }
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil || out.Data.Run.RequestID == "" {
		t.Fatalf("graphql run answered %d: %s", resp.StatusCode, b)
	}
	return out.Data.Run.RequestID
}

// TestAuditNATSRestartUnderLoad stops the external NATS server the gateway
// publishes to while requests flow, starts a new one on the same port and
// store, and counts what arrives: exactly one event per request.
func TestAuditNATSRestartUnderLoad(t *testing.T) {
	backend := auditBackend(t)
	store := t.TempDir()
	ns := natsServer(t, -1, store)
	natsURL, natsPort := ns.ClientURL(), ns.Addr().(*net.TCPAddr).Port
	base, stop := serveDir(t, auditFiles(backend.URL, fmt.Sprintf("{nats: %q, data_dir: %q}", natsURL, t.TempDir())))

	const n = 600
	ids := loadWithOutage(t, base, n,
		func() { ns.Shutdown(); ns.WaitForShutdown() }, // events of the first third are still in flight
		func() { ns = natsServer(t, natsPort, store) })

	nc := connectNATS(t, natsURL)
	deadline := time.Now().Add(30 * time.Second)
	for streamCount(nc) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("gateway shutdown: %v", err)
	}
	events := readAudit(t, nc)
	seen := map[string]bool{}
	for _, ev := range events {
		if seen[ev.data.RequestID] {
			t.Errorf("request %s has two events", ev.data.RequestID)
		}
		seen[ev.data.RequestID] = true
		if ok, known := ids[ev.data.RequestID]; !known || !ok {
			t.Errorf("event for request %s that was not answered 200", ev.data.RequestID)
		}
	}
	if len(events) != n || len(ids) != n {
		t.Fatalf("stream holds %d events for %d requests (%d distinct ids), want exactly %d", len(events), n, len(ids), n)
	}
}

// loadWithOutage sends n requests from 8 workers. Once a third are
// answered it calls down (on the test's goroutine) while the next third
// wait; once two thirds are answered it calls up. It returns the request
// ids, each with whether it was answered 200.
func loadWithOutage(t *testing.T, base string, n int, down, up func()) map[string]bool {
	var (
		next, answered       atomic.Int64
		oneThird, twoThirds  = make(chan struct{}), make(chan struct{})
		wentDown, cameBackUp = make(chan struct{}), make(chan struct{})
		mu                   sync.Mutex
		ids                  = map[string]bool{}
		wg                   sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				switch {
				case i > int64(2*n/3):
					<-cameBackUp
				case i > int64(n/3):
					<-wentDown
				}
				id, status := restCall(t, fmt.Sprintf("%s/v1/deals/c%d", base, i))
				mu.Lock()
				ids[id] = status == 200
				mu.Unlock()
				switch answered.Add(1) {
				case int64(n / 3):
					close(oneThird)
				case int64(2 * n / 3):
					close(twoThirds)
				}
			}
		})
	}
	<-oneThird
	down()
	close(wentDown)
	<-twoThirds
	up()
	close(cameBackUp)
	wg.Wait()
	return ids
}

// natsServer starts a JetStream server the test controls on 127.0.0.1
// (port -1: a free one) with its store in dir.
func natsServer(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatalf("nats-server on port %d not ready", port)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// storeConn opens a JetStream store left by a gateway with a new
// in-process server and connects to it.
func storeConn(t *testing.T, dir string) *nats.Conn {
	t.Helper()
	ns, err := server.NewServer(&server.Options{DontListen: true, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server on the gateway's store not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func connectNATS(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// streamCount is the number of events in the stream (a message holds
// one event or a batch), 0 while it cannot tell.
func streamCount(nc *nats.Conn) uint64 {
	evs, err := auditEvents(nc)
	if err != nil {
		return 0
	}
	return uint64(len(evs))
}

type auditEvent struct {
	subject string
	raw     []byte
	data    audit.CallData
}

// readAudit reads every event of the stream, batches expanded with
// audit.Events as a consumer would.
func readAudit(t *testing.T, nc *nats.Conn) []auditEvent {
	t.Helper()
	out, err := auditEvents(nc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// auditEvents reads the stream's messages with an ordered consumer and
// returns their events.
func auditEvents(nc *nats.Conn) ([]auditEvent, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, "MANIFOLD_AUDIT")
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	cons, err := js.OrderedConsumer(ctx, "MANIFOLD_AUDIT", jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	var out []auditEvent
	for msgs := uint64(0); msgs < info.State.Msgs; msgs++ {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			return nil, fmt.Errorf("after %d of %d messages: %w", msgs, info.State.Msgs, err)
		}
		evs, err := audit.Events(m.Data())
		if err != nil {
			return nil, err
		}
		for _, raw := range evs {
			var ev audit.Event
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("not an event: %s", raw)
			}
			e := auditEvent{subject: m.Subject(), raw: raw}
			if err := json.Unmarshal(ev.Data, &e.data); err != nil {
				return nil, fmt.Errorf("bad data: %s", ev.Data)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

func auditSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(audit.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(audit.DataSchema, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(audit.DataSchema)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validateEvent(t *testing.T, sch *jsonschema.Schema, raw []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err == nil {
		err = sch.Validate(v)
	}
	if err != nil {
		t.Errorf("event does not match the schema: %v\n%s", err, raw)
	}
}

// TestDemoAudit: `manifold demo` publishes to its embedded NATS, which
// `manifold audit tail` reads over TCP at the address the log gives.
func TestDemoAudit(t *testing.T) {
	logs := &logtest.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	addr, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- launch.Demo(ctx, launch.Options{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(logs, nil)),
			Ready: func(a string) { addr <- a }}, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = launch.BaseURL(a)
	case err := <-done:
		t.Fatalf("demo did not start: %v", err)
	}
	id, status := restCall(t, base+"/v1/cities/Berlin/deals")
	if status != 200 {
		t.Fatalf("demo answered %d", status)
	}
	m := regexp.MustCompile(`embedded NATS listening" url=(nats://\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no embedded NATS address in the log:\n%s", logs.String())
	}
	nc, err := audit.Dial(audit.ClientOptions{Servers: m[1]})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var out logtest.Buffer
	tctx, stopTail := context.WithCancel(context.Background())
	tailed := make(chan error, 1)
	go func() { tailed <- audit.Tail(tctx, nc, audit.TailOptions{Pipeline: "cityDeals", Follow: true}, &out) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "req="+id) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stopTail()
	if err := <-tailed; err != nil {
		t.Errorf("tail: %v", err)
	}
	if !strings.Contains(out.String(), "cityDeals  GET /v1/cities/Berlin/deals  200") {
		t.Errorf("audit tail does not show the demo call %s:\n%s", id, out.String())
	}
}
