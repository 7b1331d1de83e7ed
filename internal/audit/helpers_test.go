package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// natsServer starts a nats-server with JetStream that the test controls,
// on 127.0.0.1:port (-1: a free port) with its store in dir. It is the
// "external cluster" of the gateway: shut it down and start another on the
// same port and store to simulate an outage.
func natsServer(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		ServerName: "test-nats", Host: "127.0.0.1", Port: port,
		JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatalf("nats-server: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatalf("nats-server on port %d not ready", port)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// port returns the TCP port a server listens on.
func port(ns *server.Server) int { return ns.Addr().(*net.TCPAddr).Port }

func stop(ns *server.Server) {
	ns.Shutdown()
	ns.WaitForShutdown()
}

// start starts a publisher that the test closes at the end.
func start(t *testing.T, cfg Config, log *slog.Logger) *Publisher {
	t.Helper()
	p, err := Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func closeNow(t *testing.T, p *Publisher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// connectTo opens a client connection to ns (in-process when it has no
// listener) and closes it at the end of the test.
func connectTo(t *testing.T, ns *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect("", nats.InProcessServer(ns))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// stored is one event of the stream (a message holds one, or a batch).
type stored struct {
	subject string
	msgID   string // of the message holding it
	header  nats.Header
	event   Event
	raw     []byte
}

// readStream returns every event of the audit stream, in stream order,
// batches expanded.
func readStream(t *testing.T, nc *nats.Conn) []stored {
	t.Helper()
	out, err := streamEvents(nc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// streamEvents reads every event of the audit stream.
func streamEvents(nc *nats.Conn) ([]stored, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, "MANIFOLD_AUDIT")
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream info: %w", err)
	}
	var out []stored
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get %d: %w", seq, err)
		}
		evs, err := Events(m.Data)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", seq, err)
		}
		if want := map[bool]string{true: BatchContentType, false: ContentType}[len(m.Data) > 0 && m.Data[0] == '[']; m.Header.Get("Content-Type") != want {
			return nil, fmt.Errorf("message %d: Content-Type %q; want %q", seq, m.Header.Get("Content-Type"), want)
		}
		for _, raw := range evs {
			s := stored{subject: m.Subject, msgID: m.Header.Get("Nats-Msg-Id"), header: m.Header, raw: raw}
			if err := json.Unmarshal(raw, &s.event); err != nil {
				return nil, fmt.Errorf("message %d holds a non-event: %w", seq, err)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// count returns the number of events in the stream, 0 while it cannot
// tell.
func count(nc *nats.Conn) uint64 {
	evs, _ := streamEvents(nc)
	return uint64(len(evs))
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// call returns a finished call of pipeline p with two steps, the second
// one a failed optional step.
func call(i int, p string) *event.Call {
	return &event.Call{
		RequestID: fmt.Sprintf("req-%04d", i), Surface: event.SurfaceREST, Pipeline: p,
		Method: "GET", Path: "/v1/" + p, Status: 200, Start: time.Unix(1_700_000_000, int64(i)*1e6),
		Duration: 1500 * time.Microsecond, Consumer: "chatgpt", Client: "127.0.0.1", Cache: "miss",
		Complete: false, Missing: []string{"translate"},
		Steps: []pipeline.StepTrace{
			{Name: "markets", Upstream: "markets", Status: 200, Calls: 1, Attempts: 1, Cache: "hit", Breaker: "closed", Duration: time.Millisecond},
			{Name: "translate", Upstream: "translation", Status: 503, Calls: 1, Attempts: 2, Breaker: "closed", Optional: true,
				Err: &pipeline.StepError{Step: "translate", Upstream: "translation", Err: &connectors.StatusError{Status: 503, Detail: "busy"}}},
		},
	}
}

// schema compiles the embedded JSON Schema, with format assertions.
func schema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(DataSchema, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(DataSchema)
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return sch
}

func validate(t *testing.T, sch *jsonschema.Schema, raw []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("event is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("event does not match the schema: %v\n%s", err, raw)
	}
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func logger(w *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
