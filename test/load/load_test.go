package main

import (
	"strings"
	"testing"
	"time"
)

// TestRun runs the harness briefly in both modes and checks that every
// request of both attacks succeeded and that the report is complete.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  config
	}{
		{"fan-out closed loop", config{workers: 4, latency: time.Millisecond}},
		{"fan-out fixed rate", config{rate: 100, workers: 2, latency: time.Millisecond}},
		{"demo", config{rate: 50, workers: 2, latency: time.Millisecond, demo: true}},
		{"proxy", config{workers: 2, latency: time.Millisecond, proxy: true, bodySize: 4096}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.duration, cfg.maxWorkers, cfg.timeout, cfg.json = 300*time.Millisecond, 16, 5*time.Second, true
			rep := runReport[report](t, cfg)
			for _, s := range []*summary{rep.Gateway, rep.Direct} {
				if s == nil || s.Requests == 0 || s.Success != 1 || s.P50 <= 0 {
					t.Errorf("summary %+v; want requests, all successful, a p50", s)
				}
			}
			if rep.Ratios == nil || rep.Ratios.P50 <= 0 {
				t.Errorf("ratios = %+v; want them computed", rep.Ratios)
			}
			var text strings.Builder
			rep.writeText(&text)
			if !strings.Contains(text.String(), rep.ratioName()+":") {
				t.Errorf("text report lacks the ratios:\n%s", text.String())
			}
		})
	}
}

func TestConfigCheck(t *testing.T) {
	ok := config{duration: time.Second, workers: 1, maxWorkers: 1, timeout: time.Second}
	if err := ok.check(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, mutate := range map[string]func(*config){
		"negative rate":                  func(c *config) { c.rate = -1 },
		"no duration":                    func(c *config) { c.duration = 0 },
		"no workers":                     func(c *config) { c.workers = 0 },
		"no timeout":                     func(c *config) { c.timeout = 0 },
		"-audit-max-bytes without -lean": func(c *config) { c.auditMax = "64MiB" },
		"-audit-max-bytes below 32MiB":   func(c *config) { c.lean, c.auditMax = true, "16MiB" },
		"-audit-max-bytes not a size":    func(c *config) { c.lean, c.auditMax = true, "lots" },
	} {
		c := ok
		mutate(&c)
		if c.check() == nil {
			t.Errorf("%s: check accepted it", name)
		}
	}
}
