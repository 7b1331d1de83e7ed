package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/manifoldgw/manifold/test/bench"
)

// leanTarget is one attacked endpoint of -lean mode and the gateway
// child (nil: a backend) whose CPU it is charged.
type leanTarget struct {
	*target
	gw  *child
	cpu time.Duration // the child's CPU during this target's turns
	own time.Duration // this process's (attacker and backends) meanwhile
	acc slot
}

// leanReport is the outcome of -lean mode.
type leanReport struct {
	Duration string             `json:"duration"`
	Workers  int                `json:"workers"`
	Latency  string             `json:"backend_latency"`
	Targets  []*summary         `json:"targets"`
	GwCPU    map[string]float64 `json:"gateway_cpu_per_request_us"`
	OwnCPU   map[string]float64 `json:"harness_cpu_per_request_us"`
	PeakRSS  map[string]int64   `json:"gateway_peak_rss_kib"`
	Ratios   map[string]float64 `json:"ratios"`
	Logs     map[string]string  `json:"logs"`
	Lines    map[string]int     `json:"access_log_lines"`
	// StoreBytes is the defaults gateway's JetStream store after the run.
	StoreBytes int64 `json:"audit_store_bytes"`
	// StoreMax is the max_bytes of the defaults gateway's audit stream
	// (-1: not found).
	StoreMax int64 `json:"audit_max_bytes"`
}

// runLean starts the fan-out backends and two gateway children of this
// binary on the same pipelines, one with the defaults (embedded
// JetStream audit, metrics, access log at info) and one lean (audit off,
// log level warn); attacks the fan-out, a proxy, a cached fan-out on both
// and one backend directly, in turn; and prints the ratios.
func runLean(ctx context.Context, cfg config, out, logw io.Writer) error {
	st := &stack{}
	defer st.close()
	urls := map[string]string{}
	for _, name := range bench.Backends() {
		u, err := st.listen(bench.Handler(name, cfg.latency))
		if err != nil {
			return err
		}
		urls[name] = u
	}
	root, err := os.MkdirTemp("", "manifold-load-lean-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	children := map[string]*child{}
	for _, lean := range []bool{false, true} {
		dir, err := leanDir(root, urls, lean, cfg.auditMax)
		if err != nil {
			return err
		}
		name, level := "defaults", "info"
		if lean {
			name, level = "lean", "warn"
		}
		c, err := startChild(name, dir, level, cfg.profile)
		if err != nil {
			return err
		}
		defer c.stop()
		children[name] = c
	}
	if cfg.krakend != "" {
		c, err := startKrakend(ctx, cfg.krakend, root, urls)
		if err != nil {
			return err
		}
		defer c.stop()
		children[krakendName] = c
	}
	targets := leanTargets(children, urls["b1"])
	if err := probeAll(ctx, targets); err != nil {
		return err
	}
	if k := children[krakendName]; k != nil {
		if err := sameAnswer(ctx, children["lean"].base+bench.Path+"?id=1", k.base+bench.Path+"?id=1"); err != nil {
			return err
		}
	}
	fmt.Fprintf(logw, "attacking %d targets in turn, %d rounds, %s each in all...\n", len(targets), leanRounds, cfg.duration)
	slice := cfg.duration / leanRounds
	for range leanRounds {
		for _, t := range targets {
			if ctx.Err() != nil {
				break
			}
			var before time.Duration
			if t.gw != nil {
				before = t.gw.cpu()
			}
			own := cpuTime()
			t.acc.add(attackFor(ctx, cfg, t.target, slice, &t.acc.m))
			t.own += cpuTime() - own
			if t.gw != nil {
				t.cpu += t.gw.cpu() - before
			}
		}
	}
	rep := leanSummary(cfg, targets, children)
	for _, c := range children {
		if err := c.stop(); err != nil {
			fmt.Fprintf(logw, "gateway %s: %v\n", c.name, err)
		}
		rep.Lines[c.name] = countLines(c.log)
	}
	rep.StoreBytes = dirSize(filepath.Join(root, "defaults", "data", "nats"))
	rep.StoreMax = streamMaxBytes(filepath.Join(root, "defaults", "data", "nats"))
	if cfg.json {
		return writeJSON(out, rep)
	}
	rep.writeText(out)
	return ctx.Err()
}

// leanTargets are the attacked endpoints: each pipeline on each child
// (KrakenD's, with -krakend: the fan-out and the proxy), and backend b1
// directly (what the proxy forwards to).
func leanTargets(children map[string]*child, b1 string) []*leanTarget {
	var ts []*leanTarget
	for _, kind := range []struct{ name, path string }{
		{"fanout", bench.Path}, {"proxy", "/v1/proxy"}, {"cached", "/v1/cached"},
	} {
		for _, cname := range []string{"defaults", "lean", krakendName} {
			c, path, kind := children[cname], kind.path, kind.name
			if c == nil || (cname == krakendName && kind == "cached") {
				continue // no -krakend, or KrakenD has no cached fan-out (see krakendConfig)
			}
			ts = append(ts, &leanTarget{gw: c, target: &target{kind + "/" + cname, func(n uint64) string {
				if kind == "cached" {
					n = 0 // the same request: answered from the response cache
				}
				return fmt.Sprintf("%s%s?id=%d", c.base, path, n)
			}}})
		}
	}
	ts = append(ts, &leanTarget{target: &target{"direct", func(n uint64) string {
		return fmt.Sprintf("%s%s?id=%d", b1, bench.BackendPath, n)
	}}})
	return ts
}

// probeAll checks that every target answers 200 before the attack (the
// cached ones then hold their answer).
func probeAll(ctx context.Context, ts []*leanTarget) error {
	var all []*target
	for _, t := range ts {
		all = append(all, t.target)
	}
	return (&stack{}).probeTargets(ctx, all)
}

func leanSummary(cfg config, ts []*leanTarget, children map[string]*child) *leanReport {
	rep := &leanReport{
		Duration: cfg.duration.String(), Workers: cfg.workers, Latency: cfg.latency.String(),
		GwCPU: map[string]float64{}, OwnCPU: map[string]float64{}, PeakRSS: map[string]int64{}, Ratios: map[string]float64{},
		Logs: map[string]string{}, Lines: map[string]int{},
	}
	rate := map[string]float64{}
	for _, t := range ts {
		s := t.acc.summarize(t.target)
		rep.Targets = append(rep.Targets, s)
		rate[t.name] = s.Throughput
		if s.Requests > 0 {
			rep.OwnCPU[t.name] = float64(t.own) / float64(time.Microsecond) / float64(s.Requests)
		}
		if t.gw != nil && s.Requests > 0 {
			rep.GwCPU[t.name] = float64(t.cpu) / float64(time.Microsecond) / float64(s.Requests)
		}
	}
	for name, c := range children {
		rep.PeakRSS[name] = c.peakRSS()
		rep.Logs[name] = c.log
	}
	for _, k := range []string{"fanout", "proxy", "cached"} {
		rep.Ratios[k+" defaults/lean req/s"] = ratio(rate[k+"/defaults"], rate[k+"/lean"])
		rep.Ratios[k+" defaults/direct req/s"] = ratio(rate[k+"/defaults"], rate["direct"])
		rep.Ratios[k+" lean/direct req/s"] = ratio(rate[k+"/lean"], rate["direct"])
		rep.Ratios[k+" defaults-lean gateway CPU µs/req"] = rep.GwCPU[k+"/defaults"] - rep.GwCPU[k+"/lean"]
	}
	rep.Ratios["peak RSS defaults/lean"] = ratio(float64(rep.PeakRSS["defaults"]), float64(rep.PeakRSS["lean"]))
	if children[krakendName] != nil {
		addKrakendRatios(rep, rate)
	}
	return rep
}

func (r *leanReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "Manifold load, defaults vs lean: fan-out, proxy and cached fan-out on two gateway processes, "+
		"backends answer after %s; closed loop, %d workers; %s per target in %d turns\n\n", r.Latency, r.Workers, r.Duration, leanRounds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\trequests\tsuccess\treq/s\tp50\tp99\tgateway CPU/req\tharness CPU/req\tothers\t")
	for _, s := range r.Targets {
		fmt.Fprintf(tw, "%s\t%d\t%.2f%%\t%.0f\t%s\t%s\t%.0fµs\t%.0fµs\t%.2f\t\n",
			s.Target, s.Requests, 100*s.Success, s.Throughput, s.P50, s.P99, r.GwCPU[s.Target], r.OwnCPU[s.Target], s.OtherCores)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "(harness: this process, the attacker and the backends; others: cores busy with other processes meanwhile, the gateway among them)")
	fmt.Fprintf(w, "\npeak RSS: defaults %s, lean %s = %.2fx\n", mib(r.PeakRSS["defaults"]), mib(r.PeakRSS["lean"]), r.Ratios["peak RSS defaults/lean"])
	for _, k := range []string{"fanout", "proxy", "cached"} {
		fmt.Fprintf(w, "%-6s: defaults/lean req/s %.2fx; defaults/direct %.2fx, lean/direct %.2fx; defaults cost %+.1f µs of gateway CPU per request\n",
			k, r.Ratios[k+" defaults/lean req/s"], r.Ratios[k+" defaults/direct req/s"], r.Ratios[k+" lean/direct req/s"],
			r.Ratios[k+" defaults-lean gateway CPU µs/req"])
	}
	store := fmt.Sprintf("%.0f bytes per request", float64(r.StoreBytes)/float64(max(r.Lines["defaults"], 1)))
	if r.StoreMax > 0 && r.StoreBytes >= r.StoreMax*19/20 {
		store = "full: JetStream dropped the oldest events to take new ones"
	}
	limit := "unknown (no stream metadata)"
	if r.StoreMax > 0 {
		limit = mibBytes(r.StoreMax)
	}
	fmt.Fprintf(w, "access log lines written: defaults %d, lean %d; audit store %s of max_bytes %s, %s\n",
		r.Lines["defaults"], r.Lines["lean"], mibBytes(r.StoreBytes), limit, store)
	if _, ok := r.PeakRSS[krakendName]; ok {
		r.writeKrakend(w)
	}
	var errs []string
	for _, s := range r.Targets {
		if len(s.Errors) > 0 {
			errs = append(errs, s.Target+": "+strings.Join(s.Errors, "; "))
		}
	}
	if len(errs) > 0 {
		fmt.Fprintln(w, "errors:", strings.Join(errs, "\n"))
	}
}

func countLines(file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

// dirSize is the bytes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
