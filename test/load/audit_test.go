package main

import (
	"testing"
	"time"
)

// TestRunWithAudit runs the harness with -audit: every request still
// succeeds and the report says audit was on.
func TestRunWithAudit(t *testing.T) {
	cfg := config{rate: 100, workers: 2, maxWorkers: 16, latency: time.Millisecond, audit: true,
		duration: 300 * time.Millisecond, timeout: 5 * time.Second, json: true}
	rep := runReport[report](t, cfg)
	if !rep.Audit || rep.Gateway == nil || rep.Gateway.Success != 1 {
		t.Errorf("report = audit %v, gateway %+v; want audit on and every request successful", rep.Audit, rep.Gateway)
	}
}
