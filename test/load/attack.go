package main

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// attack runs one vegeta attack on t for cfg.duration (or until ctx ends,
// or cfg.requests were sent) and summarises it. Responses are read to the end but not kept, so that
// connections are reused and the attacker's memory stays flat.
func attack(ctx context.Context, cfg config, t *target) *summary {
	return interleaved(ctx, cfg, []*target{t}, 1)[0]
}

// interleaved attacks targets in turn, rounds times each for
// cfg.duration/rounds, so that what else runs on the machine weighs on
// each about equally; each summary adds up the target's rounds, its
// req/s counting only the time it was attacked.
func interleaved(ctx context.Context, cfg config, targets []*target, rounds int) []*summary {
	acc := make([]slot, len(targets))
	slice := cfg.duration / time.Duration(rounds)
	for range rounds {
		for i, t := range targets {
			if ctx.Err() == nil {
				acc[i].add(attackFor(ctx, cfg, t, slice, &acc[i].m))
			}
		}
	}
	out := make([]*summary, len(targets))
	for i, t := range targets {
		out[i] = acc[i].summarize(t)
	}
	return out
}

// usage is what one attack cost: this process's CPU, the machine's, and
// the wall time.
type usage struct{ cpu, busy, wall time.Duration }

// slot accumulates one target's attacks.
type slot struct {
	m vegeta.Metrics
	usage
}

func (s *slot) add(u usage) { s.cpu, s.busy, s.wall = s.cpu+u.cpu, s.busy+u.busy, s.wall+u.wall }

func (s *slot) summarize(t *target) *summary {
	m := &s.m
	m.Close()
	out := summarize(t, m)
	secs := s.wall.Seconds()
	if secs > 0 { // vegeta's own rates would count the other targets' turns
		out.Rate = float64(m.Requests) / secs
		out.Throughput = m.Success * float64(m.Requests) / secs
	}
	if s.cpu > 0 && m.Requests > 0 {
		out.CPUPerRequest = float64(s.cpu) / float64(time.Microsecond) / float64(m.Requests)
		out.CPUCores = s.cpu.Seconds() / secs
	}
	if s.busy > 0 {
		out.OtherCores = max(s.busy-s.cpu, 0).Seconds() / secs
	}
	return out
}

// attackFor attacks t for d, adding the results to m.
func attackFor(ctx context.Context, cfg config, t *target, d time.Duration, m *vegeta.Metrics) usage {
	a := vegeta.NewAttacker(attackerOptions(cfg)...)
	var n atomic.Uint64
	targeter := func(tgt *vegeta.Target) error {
		tgt.Method, tgt.URL, tgt.Header, tgt.Body = http.MethodGet, t.url(n.Add(1)), nil, nil
		return nil
	}
	stop := context.AfterFunc(ctx, func() { a.Stop() })
	defer stop()
	// A zero ConstantPacer is vegeta's "as fast as the workers go".
	pacer := vegeta.ConstantPacer{Freq: cfg.rate, Per: time.Second}
	cpu, busy, wall := cpuTime(), machineBusy(), time.Now()
	for res := range a.Attack(targeter, pacer, d, t.name) {
		m.Add(res)
		if cfg.requests > 0 && m.Requests == cfg.requests {
			a.Stop() // the requests in flight still finish and count
		}
	}
	return usage{cpuTime() - cpu, machineBusy() - busy, time.Since(wall)}
}

func attackerOptions(cfg config) []func(*vegeta.Attacker) {
	maxWorkers := cfg.workers // closed loop: exactly -workers in flight
	if cfg.rate > 0 {
		maxWorkers = max(cfg.maxWorkers, cfg.workers)
	}
	opts := []func(*vegeta.Attacker){
		vegeta.Workers(uint64(cfg.workers)),
		vegeta.MaxWorkers(uint64(maxWorkers)),
		vegeta.Timeout(cfg.timeout),
		vegeta.KeepAlive(true),
		vegeta.HTTP2(false),
		vegeta.MaxBody(0),
	}
	if cfg.connections > 0 {
		opts = append(opts, vegeta.Connections(cfg.connections), vegeta.MaxConnections(cfg.connections))
	}
	return opts
}

// summary is one target's outcome. Latencies are in milliseconds.
type summary struct {
	Target     string  `json:"target"`
	ExampleURL string  `json:"example_url"`
	Requests   uint64  `json:"requests"`
	Success    float64 `json:"success"`    // ratio of 2xx/3xx answers
	Rate       float64 `json:"rate"`       // requests sent per second
	Throughput float64 `json:"throughput"` // successful requests per second
	P50        millis  `json:"p50_ms"`
	P90        millis  `json:"p90_ms"`
	P99        millis  `json:"p99_ms"`
	Max        millis  `json:"max_ms"`
	// CPU time of the whole process (generator, gateway, backends) per
	// request, and the cores it kept busy: steadier than req/s on a
	// shared machine, since other tenants' load does not inflate it much.
	CPUPerRequest float64        `json:"cpu_per_request_us"`
	CPUCores      float64        `json:"cpu_cores"`
	OtherCores    float64        `json:"other_processes_cores"` // the noise: other tenants' CPU meanwhile
	StatusCodes   map[string]int `json:"status_codes"`
	Errors        []string       `json:"errors,omitempty"` // the first few distinct ones
}

// millis is a duration in milliseconds, for reports.
type millis float64

func ms(d time.Duration) millis { return millis(float64(d) / float64(time.Millisecond)) }

func summarize(t *target, m *vegeta.Metrics) *summary {
	s := &summary{
		Target: t.name, ExampleURL: t.example(), Requests: m.Requests,
		Success: m.Success, Rate: m.Rate, Throughput: m.Throughput,
		P50: ms(m.Latencies.P50), P90: ms(m.Latencies.P90), P99: ms(m.Latencies.P99), Max: ms(m.Latencies.Max),
		StatusCodes: m.StatusCodes, Errors: m.Errors,
	}
	if len(s.Errors) > 5 {
		s.Errors = s.Errors[:5]
	}
	return s
}

// ratios compare the gateway with the direct backend: latency ratios
// (gateway ÷ direct, above 1 is slower), the throughput ratio (below 1
// is fewer requests per second) and the absolute p50 overhead.
type ratios struct {
	Throughput  float64 `json:"throughput"`
	P50         float64 `json:"p50"`
	P90         float64 `json:"p90"`
	P99         float64 `json:"p99"`
	P50Overhead millis  `json:"p50_overhead_ms"`
	CPU         float64 `json:"cpu_per_request"`
}

func ratiosOf(gw, direct *summary) *ratios {
	if gw == nil || direct == nil {
		return nil
	}
	return &ratios{
		Throughput:  ratio(gw.Throughput, direct.Throughput),
		P50:         ratio(float64(gw.P50), float64(direct.P50)),
		P90:         ratio(float64(gw.P90), float64(direct.P90)),
		P99:         ratio(float64(gw.P99), float64(direct.P99)),
		P50Overhead: gw.P50 - direct.P50,
		CPU:         ratio(gw.CPUPerRequest, direct.CPUPerRequest),
	}
}
