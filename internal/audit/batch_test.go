package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestBatchesPerPipeline: events recorded together are stored as one
// JetStream message per pipeline, a CloudEvents JSON batch with its own
// Content-Type and Nats-Msg-Id; every event of it is valid against the
// schema; `audit tail --json` prints one event per line.
func TestBatchesPerPipeline(t *testing.T) {
	p := start(t, Config{DataDir: t.TempDir(), InProcess: true, Linger: 50 * time.Millisecond}, nil)
	const n = 30
	for i := range n {
		p.Record(context.Background(), call(i, []string{"cityDeals", "productSearch"}[i%2]))
	}
	eventually(t, 10*time.Second, "all events acknowledged", func() bool { return p.Stats().Published == n })
	nc := connectTo(t, p.conn.Server())
	js, _ := jetstream.New(nc)
	info, err := js.Stream(context.Background(), "MANIFOLD_AUDIT")
	if err != nil {
		t.Fatal(err)
	}
	msgs := info.CachedInfo().State.Msgs
	if msgs >= n || msgs < 2 {
		t.Errorf("stream holds %d messages for %d events of 2 pipelines; want batches, at least one per pipeline", msgs, n)
	}
	evs := readStream(t, nc) // checks each message's Content-Type against its form
	sch := schema(t)
	batched := 0
	for _, e := range evs {
		validate(t, sch, e.raw)
		if e.header.Get("Content-Type") == BatchContentType {
			batched++
			if !strings.Contains(e.msgID, "+") {
				t.Errorf("batch Nats-Msg-Id %q; want first event id+count", e.msgID)
			}
		}
		if want := "manifold.audit.call." + e.event.Subject; e.subject != want {
			t.Errorf("event of %s on %s; want %s", e.event.Subject, e.subject, want)
		}
	}
	if len(evs) != n || batched == 0 {
		t.Fatalf("%d events, %d in batches; want %d, batched", len(evs), batched, n)
	}
	var out bytes.Buffer
	if err := Tail(context.Background(), nc, TailOptions{JSON: true, Pipeline: "cityDeals"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != n/2 {
		t.Fatalf("tail --json printed %d lines for %d cityDeals events:\n%s", len(lines), n/2, out.String())
	}
	for _, l := range lines {
		var ev Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Subject != "cityDeals" {
			t.Errorf("line is not one cityDeals event (%v): %s", err, l)
		}
	}
}

// TestPipelineNamedAdmin: a pipeline named admin has its call events on
// <subject>.call.admin, apart from the admin events on <subject>.admin;
// tail --pipeline admin shows its calls only.
func TestPipelineNamedAdmin(t *testing.T) {
	p := start(t, Config{DataDir: t.TempDir(), InProcess: true}, nil)
	p.Record(context.Background(), call(1, "admin"))
	if err := p.Admin(context.Background(), "reload", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "events acknowledged", func() bool { return p.Stats().Published == 2 })
	nc := connectTo(t, p.conn.Server())
	subjects := map[string]string{}
	for _, e := range readStream(t, nc) {
		subjects[e.event.Type] = e.subject
	}
	if subjects[TypeCall] != "manifold.audit.call.admin" || subjects[TypeAdmin] != "manifold.audit.admin" {
		t.Errorf("subjects %v; want the call on manifold.audit.call.admin, the admin event on manifold.audit.admin", subjects)
	}
	var out bytes.Buffer
	if err := Tail(context.Background(), nc, TailOptions{JSON: true, Pipeline: "admin"}, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); strings.Count(got, "\n") != 0 || !strings.Contains(got, TypeCall) {
		t.Errorf("tail --pipeline admin printed\n%s\nwant the one call event only", got)
	}
}

// TestEvents reads a single event and a batch.
func TestEvents(t *testing.T) {
	one, err := Events([]byte(`{"id":"a"}`))
	if err != nil || len(one) != 1 || string(one[0]) != `{"id":"a"}` {
		t.Errorf("single event: %q, %v", one, err)
	}
	two, err := Events([]byte(`[{"id":"a"},{"id":"b"}]`))
	if err != nil || len(two) != 2 || string(two[1]) != `{"id":"b"}` {
		t.Errorf("batch: %q, %v", two, err)
	}
	if _, err := Events([]byte(`[{"id":`)); err == nil {
		t.Error("a torn batch was accepted")
	}
}
