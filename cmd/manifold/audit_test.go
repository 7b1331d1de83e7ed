package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/event"
)

// TestAuditTail runs `manifold audit tail` against a gateway's embedded
// NATS (here: the audit publisher alone, on a free loopback port).
func TestAuditTail(t *testing.T) {
	p, err := audit.Start(context.Background(), audit.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	for i, name := range []string{"cityDeals", "productSearch"} {
		p.Record(context.Background(), &event.Call{
			RequestID: "req-" + name, Surface: event.SurfaceREST, Pipeline: name, Method: "GET",
			Path: "/v1/" + name, Status: 200 + i*302, Start: time.Now(), Duration: time.Millisecond, Complete: true,
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Published < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, tc := range []struct {
		name       string
		args       []string
		want, lack []string
	}{
		{"all", nil, []string{"cityDeals  GET /v1/cityDeals  200", "productSearch  GET /v1/productSearch  502"}, nil},
		{"one pipeline", []string{"--pipeline", "productSearch"}, []string{"req=req-productSearch"}, []string{"cityDeals"}},
		{"json", []string{"--json", "--pipeline", "cityDeals"}, []string{`"type":"dev.manifold.audit.call.v1"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := execute(t, append([]string{"audit", "tail", "--server", p.URL()}, tc.args...)...)
			if err != nil {
				t.Fatalf("audit tail: %v\n%s", err, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
			for _, l := range tc.lack {
				if strings.Contains(stdout, l) {
					t.Errorf("output shows %q:\n%s", l, stdout)
				}
			}
		})
	}
}

func TestAuditTailWithoutServer(t *testing.T) {
	_, _, err := execute(t, "audit", "tail", "--server", "nats://127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("audit tail without a server: %v, want an error naming it", err)
	}
}

func TestAuditSchema(t *testing.T) {
	stdout, _, err := execute(t, "audit", "schema")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ID string `json:"$id"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || doc.ID != audit.DataSchema {
		t.Errorf("audit schema printed $id %q (%v), want %s", doc.ID, err, audit.DataSchema)
	}
}
