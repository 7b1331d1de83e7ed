package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary serve as a -lean gateway child, as the
// harness binary does.
func TestMain(m *testing.M) {
	if ran, code := childMain(); ran {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestLean runs -lean briefly: both gateway processes answer every
// request of every target, the defaults one writes an access log line per
// request and the lean one none, and the report has its ratios.
func TestLean(t *testing.T) {
	rep := runReport[leanReport](t, config{lean: true, workers: 2, maxWorkers: 2, latency: time.Millisecond,
		duration: 800 * time.Millisecond, timeout: 5 * time.Second, json: true})
	if len(rep.Targets) != 7 {
		t.Fatalf("%d targets; want 7 (3 pipelines x 2 gateways + direct)", len(rep.Targets))
	}
	var defaults uint64
	for _, s := range rep.Targets {
		if s.Requests == 0 || s.Success != 1 {
			t.Errorf("%s: %d requests, success %.2f; want all successful", s.Target, s.Requests, s.Success)
		}
		if len(s.Target) > 9 && s.Target[len(s.Target)-9:] == "/defaults" {
			defaults += s.Requests
		}
	}
	if got := uint64(rep.Lines["defaults"]); got < defaults {
		t.Errorf("defaults gateway logged %d lines for %d requests; want one per request", got, defaults)
	}
	if rep.Lines["lean"] != 0 {
		t.Errorf("lean gateway logged %d lines; want none at level warn", rep.Lines["lean"])
	}
	for _, k := range []string{"fanout defaults/lean req/s", "proxy defaults/lean req/s", "cached defaults/direct req/s", "peak RSS defaults/lean"} {
		if rep.Ratios[k] <= 0 {
			t.Errorf("ratio %q = %v; want it measured", k, rep.Ratios[k])
		}
	}
	if rep.StoreMax != 1<<30 {
		t.Errorf("defaults gateway's audit stream has max_bytes %d; want the default, 1GiB", rep.StoreMax)
	}
}

// TestLeanAuditMaxBytes: -audit-max-bytes is the max_bytes of the stream
// the defaults gateway creates.
func TestLeanAuditMaxBytes(t *testing.T) {
	rep := runReport[leanReport](t, config{lean: true, workers: 1, maxWorkers: 1, latency: time.Millisecond,
		duration: 200 * time.Millisecond, timeout: 5 * time.Second, json: true, auditMax: "48MiB"})
	if rep.StoreMax != 48<<20 {
		t.Errorf("defaults gateway's audit stream has max_bytes %d; want 48MiB", rep.StoreMax)
	}
}

// runReport checks cfg, runs the harness with it (cfg.json set) and
// returns its JSON report: a report, or a leanReport with cfg.lean.
func runReport[R report | leanReport](t *testing.T, cfg config) R {
	t.Helper()
	if err := cfg.check(); err != nil {
		t.Fatalf("check: %v", err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), cfg, &out, io.Discard); err != nil {
		t.Fatalf("run: %v", err)
	}
	var rep R
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out.String())
	}
	return rep
}
