package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// TestStampedEvents: with a replica and a plan, call and admin events
// carry them as CloudEvents extension attributes, encoded as
// encoding/json encodes Event.
func TestStampedEvents(t *testing.T) {
	cfg := &Config{Subject: "manifold.audit", Source: "http://localhost:9080", Replica: "gw-a1b2",
		Plan: func() PlanStamp { return PlanStamp{Revision: 7, Hash: "sha256:abc"} }}
	c := call(2, "cityDeals")
	e := newEntry(context.Background(), c, nil)
	it, err := e.encode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ev := Event{SpecVersion: SpecVersion, ID: e.id, Source: cfg.Source, Type: TypeCall, Time: e.at.UTC(),
		Subject: c.Pipeline, DataContentType: "application/json", DataSchema: DataSchema,
		Replica: "gw-a1b2", PlanRevision: 7, PlanHash: "sha256:abc"}
	if want := marshalCall(t, ev, callData(c, e.traceID)); !bytes.Equal(it.data, want) {
		t.Errorf("got\n%s\nwant (encoding/json)\n%s", it.data, want)
	}
	a := newEntry(context.Background(), nil, &AdminData{Action: "reload"})
	it, err = a.encode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got Event
	if err := json.Unmarshal(it.data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Replica != "gw-a1b2" || got.PlanRevision != 7 || got.PlanHash != "sha256:abc" {
		t.Errorf("admin event: replica %q, revision %d, hash %q", got.Replica, got.PlanRevision, got.PlanHash)
	}
}

// BenchmarkEncodeStamped is BenchmarkEncode with the replica and plan
// stamp of cluster mode: compare the two for what the stamp costs.
func BenchmarkEncodeStamped(b *testing.B) {
	st := PlanStamp{Revision: 42, Hash: "sha256:3f2a9c0e51b7d6a4"}
	cfg := &Config{Subject: "manifold.audit", Source: "http://localhost:9080", Replica: "manifold-7d9c-x2k4p",
		Plan: func() PlanStamp { return st }}
	e := newEntry(context.Background(), call(1, "cityDeals"), nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.encode(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
