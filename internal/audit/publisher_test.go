package audit

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
)

// TestEventsMatchCalls records calls and an admin action on an embedded,
// in-process server and reads them back: exactly one event per call, with
// the call's facts, valid against the published schema.
func TestEventsMatchCalls(t *testing.T) {
	p := start(t, Config{DataDir: t.TempDir(), InProcess: true, Source: "http://gw.example"}, nil)
	const n = 40
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	traced := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	for i := range n {
		ctx := context.Background()
		if i == 0 {
			ctx = traced
		}
		p.Record(ctx, call(i, []string{"cityDeals", "productSearch"}[i%2]))
	}
	if err := p.Admin(context.Background(), "reload", map[string]any{"pipelines": 3}); err != nil {
		t.Fatalf("Admin: %v", err)
	}
	eventually(t, 10*time.Second, "all events acknowledged", func() bool { return p.Stats().Published == n+1 })

	msgs := readStream(t, connectTo(t, p.conn.Server()))
	if len(msgs) != n+1 {
		t.Fatalf("stream holds %d events, want %d", len(msgs), n+1)
	}
	sch := schema(t)
	index := map[string]int{} // request id → i: batches are per pipeline, so the two interleave by message
	for i := range n {
		index[call(i, "").RequestID] = i
	}
	var admin stored
	seen := map[int]bool{}
	for _, m := range msgs {
		validate(t, sch, m.raw)
		if m.event.Type == TypeAdmin {
			admin = m
			continue
		}
		var d CallData
		_ = json.Unmarshal(m.event.Data, &d)
		i, ok := index[d.RequestID]
		if !ok || seen[i] {
			t.Errorf("event for request %q: unknown or twice", d.RequestID)
			continue
		}
		seen[i] = true
		c := call(i, []string{"cityDeals", "productSearch"}[i%2])
		if want := "manifold.audit.call." + c.Pipeline; m.subject != want {
			t.Errorf("event %d on subject %q, want %q", i, m.subject, want)
		}
		ev := m.event
		if ev.ID == "" || (m.msgID != ev.ID && !strings.Contains(m.msgID, "+")) {
			t.Errorf("Nats-Msg-Id %q, event id %q: want the event's id, or a batch's id+count", m.msgID, ev.ID)
		}
		if ev.Type != TypeCall || ev.Source != "http://gw.example" || ev.Subject != c.Pipeline || !ev.Time.Equal(c.Start) {
			t.Errorf("envelope = %+v", ev)
		}
		checkCallData(t, i, ev, c.RequestID)
	}
	validate(t, sch, admin.raw)
	if admin.subject != "manifold.audit.admin" || admin.event.Type != TypeAdmin || admin.event.Subject != "reload" {
		t.Errorf("admin event on %q: %+v", admin.subject, admin.event)
	}
	if !strings.Contains(string(admin.event.Data), `"details":{"pipelines":3}`) {
		t.Errorf("admin data = %s", admin.event.Data)
	}
}

func checkCallData(t *testing.T, i int, ev Event, requestID string) {
	t.Helper()
	var d CallData
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatal(err)
	}
	wantTrace := ""
	if i == 0 {
		wantTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	}
	if d.RequestID != requestID || d.TraceID != wantTrace || d.Status != 200 || d.DurationMS != 1.5 ||
		d.Consumer != "chatgpt" || d.Client != "127.0.0.1" || d.Cache != "miss" || d.Complete ||
		len(d.Missing) != 1 || d.Surface != "rest" || d.Method != "GET" {
		t.Errorf("event %d data = %+v", i, d)
	}
	if len(d.Steps) != 2 {
		t.Fatalf("event %d has %d steps, want 2", i, len(d.Steps))
	}
	ok, failed := d.Steps[0], d.Steps[1]
	if ok.Name != "markets" || ok.Cache != "hit" || ok.Breaker != "closed" || ok.DurationMS != 1 || ok.Error != "" {
		t.Errorf("step 0 = %+v", ok)
	}
	if failed.Cache != "none" || failed.Attempts != 2 || failed.Status != 503 || !failed.Optional ||
		failed.Error != "step translate: upstream translation answered 503" {
		t.Errorf("step 1 = %+v", failed)
	}
}

// TestEmbeddedListensOnLoopback: any NATS client (nats sub) can watch the
// events of the embedded server.
func TestEmbeddedListensOnLoopback(t *testing.T) {
	p := start(t, Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"}, nil)
	if !strings.HasPrefix(p.URL(), "nats://127.0.0.1:") {
		t.Fatalf("URL() = %q, want a loopback nats:// URL", p.URL())
	}
	nc, err := nats.Connect(p.URL())
	if err != nil {
		t.Fatalf("connect to %s: %v", p.URL(), err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("manifold.audit.>")
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	p.Record(context.Background(), call(1, "cityDeals"))
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no event reached the subscriber: %v", err)
	}
	if m.Subject != "manifold.audit.call.cityDeals" || !strings.Contains(string(m.Data), `"request_id":"req-0001"`) {
		t.Errorf("got %s: %s", m.Subject, m.Data)
	}
}

// TestDefaultPortTaken: the default address falls back to a free port
// when taken; an address the user chose does not.
func TestDefaultPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	for _, tc := range []struct {
		name        string
		defaultAddr bool
		wantErr     bool
	}{
		{"default address falls back", true, false},
		{"chosen address fails", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			p, err := Start(context.Background(), Config{DataDir: t.TempDir(), Listen: taken, DefaultListen: tc.defaultAddr}, logger(&logs))
			if tc.wantErr {
				if err == nil {
					_ = p.Close(context.Background())
					t.Fatalf("Start on a taken address %s succeeded", taken)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			defer closeNow(t, p)
			if strings.HasSuffix(p.URL(), taken[strings.LastIndex(taken, ":"):]) {
				t.Errorf("URL %s is the taken address", p.URL())
			}
			if !strings.Contains(logs.String(), "default NATS port is taken") {
				t.Errorf("no warning logged:\n%s", logs.String())
			}
		})
	}
}

// TestCloseFlushes closes right after recording: every event is in the
// stream when the embedded server is started again on the same store.
func TestCloseFlushes(t *testing.T) {
	dir := t.TempDir()
	p := start(t, Config{DataDir: dir, InProcess: true}, nil)
	const n = 500
	for i := range n {
		p.Record(context.Background(), call(i, "cityDeals"))
	}
	closeNow(t, p)
	if s := p.Stats(); s.Published != n || s.Dropped != 0 {
		t.Errorf("stats after close = %+v, want %d published, none dropped", s, n)
	}
	ns := natsServer(t, -1, dir+"/nats")
	if got := len(readStream(t, connectTo(t, ns))); got != n {
		t.Errorf("stream holds %d events after close, want %d", got, n)
	}
}

// TestStreamCreatedOrUpdated: a second start with other limits updates
// the stream instead of failing.
func TestStreamCreatedOrUpdated(t *testing.T) {
	ns := natsServer(t, -1, t.TempDir())
	for _, maxAge := range []time.Duration{time.Hour, 2 * time.Hour} {
		p := start(t, Config{NATS: ns.ClientURL(), DataDir: t.TempDir(), MaxAge: maxAge, MaxBytes: 1 << 20, Duplicates: time.Minute}, nil)
		closeNow(t, p)
		js, _ := jetstream.New(connectTo(t, ns))
		st, err := js.Stream(context.Background(), "MANIFOLD_AUDIT")
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		c := st.CachedInfo().Config
		if c.MaxAge != maxAge || c.MaxBytes != 1<<20 || c.Duplicates != time.Minute || c.Subjects[0] != "manifold.audit.>" {
			t.Errorf("stream config = max_age %s, max_bytes %d, duplicates %s, subjects %v; want %s, 1MiB, 1m, manifold.audit.>",
				c.MaxAge, c.MaxBytes, c.Duplicates, c.Subjects, maxAge)
		}
	}
}

// TestReplicasNeedACluster: the server's refusal is a start error naming
// the stream.
func TestReplicasNeedACluster(t *testing.T) {
	_, err := Start(context.Background(), Config{DataDir: t.TempDir(), InProcess: true, Replicas: 3}, nil)
	if err == nil || !strings.Contains(err.Error(), "MANIFOLD_AUDIT") {
		t.Fatalf("Start with replicas 3 on one server: %v, want an error naming the stream", err)
	}
}

func TestRecordAfterCloseIsCounted(t *testing.T) {
	p := start(t, Config{DataDir: t.TempDir(), InProcess: true}, nil)
	closeNow(t, p)
	p.Record(context.Background(), call(1, "cityDeals"))
	if got := p.Stats().Dropped; got != 1 {
		t.Errorf("Dropped = %d, want 1", got)
	}
}
