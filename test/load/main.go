// Command load is Manifold's load harness. It starts everything in this one
// process, on 127.0.0.1 and ephemeral ports: four backends that answer a
// small fixed JSON document after a fixed latency (a timer, default 5ms),
// and the gateway serving one pipeline that fans each request out to the
// four of them and merges the answers (KrakenD's classic benchmark shape,
// see test/bench). It then attacks, with vegeta, (a) the gateway endpoint
// and (b) one backend directly, one after the other, each for -duration,
// and prints for each the requests, success ratio, req/s and latency
// quantiles, the gateway/direct ratios, and the process RSS before and
// after. It stops by itself.
//
//	go run ./test/load -duration 10s -rate 0 -workers 32
//	go run ./test/load -duration 10s -rate 2000
//	go run ./test/load -demo -duration 10s -rate 500     # cityDeals on the demo backends
//	go run ./test/load -json > load.json
//	go run ./test/load -distinct -cache-size 8MiB -duration 15s -rate 0 -workers 32
//	go run ./test/load -proxy -body-size 4096 -duration 20s -rate 0 -workers 32
//
// -rate 0 means as fast as -workers concurrent requests allow (closed
// loop); a positive -rate is requests per second per target (open loop,
// vegeta adds workers up to -max-workers to keep the pace). Each gateway
// request carries its own id, so the gateway never coalesces two upstream
// calls; -same sends identical requests instead. With -demo the targets are
// the demo pipeline cityDeals (internal/demo backends, the embedded
// pipelines/) and the markets backend directly. cityDeals calls its
// backends in three dependent rounds (at least three times -latency), but
// it has `cache: 30s` and there are four cities, so past the first requests
// that mode measures the response cache.
//
// -distinct checks that the cache is bounded: a pipeline with `cache: 1m`
// and one step with `cache: 1m` against a backend answering about 2 KB of
// JSON, gateway.yaml `cache: {max_size: -cache-size}`, and a new query
// value on every request, so that nothing is asked for twice. Only the
// gateway is attacked (-requests stops it after that many requests). The
// report adds the distinct keys sent, what keeping all their answers would
// take (keys × answer size), and the Go heap in use after a GC before and
// after the attack: it should grow by about max_size, not by keys × size.
//
// -proxy measures the pass-through against decoding: one backend answers
// -body-size bytes of JSON, and the gateway serves the same one-step
// pipeline twice, as `proxy: true` (target "proxy", reported where the
// gateway is) and as an ordinary pipeline that decodes and re-encodes the
// answer (target "decoding", where the direct backend is). The two are
// attacked in turn, six rounds each, so that the machine's noise weighs on
// both alike; the ratios are then proxy/decoding.
//
// -lean checks what the defaults cost: this binary starts itself twice as
// a gateway process on the same pipeline directory, once with the
// defaults (embedded JetStream audit, metrics, the JSON access log at
// info on its stderr, into a file) and once lean (`audit: {nats: off}`,
// log level warn), and attacks in turn, four rounds each, the fan-out,
// a `proxy: true` pipeline to one backend and the fan-out with `cache:
// 30s` (every request the same, so a cache hit) on both, and that one
// backend directly. It prints defaults/lean and gateway/direct req/s,
// each gateway process's CPU per request and the two peak RSS; -profile
// PREFIX writes each gateway's CPU and allocation profiles.
//
//	go run ./test/load -lean -latency 0 -duration 20s -workers 32
//
// -audit-max-bytes SIZE (with -lean; at least 32MiB) sets the defaults
// gateway's audit max_bytes, so that its store fills during the run. A
// full store is the steady state of a gateway under sustained load (1GiB
// is 1.3-1.5 million requests), and JetStream then drops the oldest
// event batch for each new one. The report gives the store's size and the
// max_bytes its stream was created with.
//
//	go run ./test/load -lean -latency 0 -duration 20s -audit-max-bytes 64MiB
//
// -krakend PATH (with -lean; empty by default) also runs that KrakenD CE
// binary, `PATH run -c krakend.json`, as a third process on a free
// loopback port, with a generated config (version 3) equivalent to the
// fan-out (the four backends merged, each under its name: the same
// answer, which the harness checks) and to the proxy (`no-op` encoding)
// on the same backends, at log level WARNING without access log (per
// request it logs nothing, like the lean gateway) and without metrics or
// traces (which the lean gateway keeps). There is no KrakenD
// cached fan-out: KrakenD CE caches backend answers only as their
// Cache-Control allows, and the backends send none. Its two targets are
// attacked in the same rounds, its CPU per request and peak RSS measured
// as the gateways', and the report adds Manifold defaults/KrakenD and
// lean/KrakenD ratios.
//
//	go run ./test/load -lean -latency 0 -duration 20s -krakend /path/to/krakend
//
// The load generator, the gateway and the backends share the machine's
// cores: the ratios of one run are what to compare, not absolute numbers.
// The report's CPU/req is this process's CPU time per request and
// "others" the cores other processes kept busy meanwhile (the noise);
// -cpuprofile FILE profiles the whole run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

// config is what the flags set.
type config struct {
	rate        int           // requests per second per target; 0: closed loop
	duration    time.Duration // per target
	workers     int           // initial (and, with rate 0, only) attack workers
	maxWorkers  int           // with rate > 0
	connections int           // attacker's connections per host at most; 0: unlimited
	latency     time.Duration // of every backend answer
	timeout     time.Duration // per request
	demo        bool
	distinct    bool   // a new cache key on every request; only the gateway is attacked
	cacheSize   string // -distinct: gateway.yaml cache.max_size
	requests    uint64 // per target at most; 0: only duration limits the attack
	same        bool
	audit       bool // the gateway publishes audit events (embedded NATS)
	proxy       bool // pass-through against decoding, interleaved
	bodySize    int  // -proxy: bytes of the backend's answer
	json        bool
	cpuProfile  string // file for a CPU profile of the whole process
	lean        bool   // defaults against lean, two gateway processes, interleaved
	profile     string // -lean: file prefix for the gateways' CPU and allocation profiles
	krakend     string // -lean: a KrakenD binary to measure beside the two gateways
	auditMax    string // -lean: the defaults gateway's audit max_bytes ("": its default)
}

func main() {
	if ran, code := childMain(); ran {
		os.Exit(code)
	}
	var cfg config
	flag.IntVar(&cfg.rate, "rate", 0, "requests per second per target; 0: as fast as -workers allow")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "attack duration per target")
	flag.IntVar(&cfg.workers, "workers", 32, "concurrent attack workers (with -rate 0, exactly this many requests in flight)")
	flag.IntVar(&cfg.maxWorkers, "max-workers", 1024, "with -rate > 0: workers vegeta may add to keep the pace")
	flag.IntVar(&cfg.connections, "connections", 0, "attacker's connections per target host at most (0: one per worker)")
	flag.DurationVar(&cfg.latency, "latency", 5*time.Millisecond, "fixed latency of every backend answer")
	flag.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "per-request timeout of the attacker")
	flag.BoolVar(&cfg.demo, "demo", false, "target the demo pipeline cityDeals on the demo backends instead of the 4-way fan-out")
	flag.BoolVar(&cfg.distinct, "distinct", false, "attack a cached pipeline with a distinct cache key per request and report the heap against -cache-size")
	flag.StringVar(&cfg.cacheSize, "cache-size", "8MiB", "with -distinct: gateway.yaml cache.max_size")
	flag.Uint64Var(&cfg.requests, "requests", 0, "stop each attack after this many requests (0: run for -duration)")
	flag.BoolVar(&cfg.same, "same", false, "send identical requests (the gateway may then coalesce concurrent upstream calls)")
	flag.BoolVar(&cfg.audit, "audit", false, "publish an audit event per gateway request to an embedded NATS JetStream (compare with and without)")
	flag.BoolVar(&cfg.proxy, "proxy", false, "compare a proxy: true pipeline with the same pipeline decoding the answer, attacked in turn")
	flag.IntVar(&cfg.bodySize, "body-size", 4096, "with -proxy: bytes of JSON the backend answers")
	flag.BoolVar(&cfg.json, "json", false, "print the report as JSON")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole process (generator included) to this file")
	flag.BoolVar(&cfg.lean, "lean", false, "run the defaults (audit, metrics, access log at info) and a lean gateway (audit off, log level warn) as two processes, interleaved, on the fan-out, a proxy and a cached fan-out, and print the ratios")
	flag.StringVar(&cfg.profile, "profile", "", "with -lean: write each gateway's CPU and allocation profiles to PREFIX-defaults.cpu, PREFIX-lean.allocs, ...")
	flag.StringVar(&cfg.auditMax, "audit-max-bytes", "", "with -lean: the defaults gateway's audit max_bytes (at least 32MiB), small enough for its store to fill during the run: a full store is the steady state under sustained load; empty: the default, 1GiB")
	flag.StringVar(&cfg.krakend, "krakend", "", "with -lean: also run this KrakenD CE binary on the same backends (fan-out and proxy) and print Manifold/KrakenD ratios")
	flag.Parse()
	if err := cfg.check(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func (c config) check() error {
	switch {
	case c.rate < 0:
		return fmt.Errorf("-rate must not be negative")
	case c.duration <= 0 || c.duration > time.Hour:
		return fmt.Errorf("-duration must be between 0 and 1h, got %s", c.duration)
	case c.workers < 1 || c.maxWorkers < 1:
		return fmt.Errorf("-workers and -max-workers must be at least 1")
	case c.connections < 0 || c.latency < 0 || c.timeout <= 0:
		return fmt.Errorf("-connections and -latency must not be negative, -timeout must be positive")
	case c.distinct && (c.demo || c.same || c.audit):
		return fmt.Errorf("-distinct does not combine with -demo, -same or -audit")
	case c.proxy && (c.demo || c.distinct):
		return fmt.Errorf("-proxy does not combine with -demo or -distinct")
	case c.lean && (c.demo || c.distinct || c.proxy || c.audit || c.same || c.rate > 0):
		return fmt.Errorf("-lean is closed loop and does not combine with -demo, -distinct, -proxy, -audit, -same or -rate")
	case c.krakend != "" && !c.lean:
		return fmt.Errorf("-krakend needs -lean")
	case c.auditMax != "" && !c.lean:
		return fmt.Errorf("-audit-max-bytes needs -lean")
	case c.auditMax != "" && !bigStore(c.auditMax):
		return fmt.Errorf("-audit-max-bytes %q: want a size of at least 32MiB (below that, JetStream uses smaller blocks than the default store does)", c.auditMax)
	case c.profile != "" && !c.lean:
		return fmt.Errorf("-profile needs -lean (-cpuprofile profiles this process)")
	case c.proxy && c.bodySize < 16:
		return fmt.Errorf("-body-size must be at least 16 bytes")
	}
	return nil
}

// run starts the stack, attacks the gateway then the backend, and writes
// the report to out. Progress goes to logw.
func run(ctx context.Context, cfg config, out, logw io.Writer) error {
	if cfg.lean {
		return runLean(ctx, cfg, out, logw)
	}
	st, err := start(cfg)
	if err != nil {
		return err
	}
	defer st.close()
	if err := st.probe(ctx); err != nil {
		return err
	}
	if cfg.cpuProfile != "" {
		stop, err := startProfile(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	rep := &report{
		Mode: st.mode, Pipeline: st.pipeline, GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
		Rate: cfg.rate, Duration: cfg.duration.String(), Workers: cfg.workers, Latency: cfg.latency.String(),
		Same: cfg.same, Audit: cfg.audit, RSSBefore: rss("VmRSS"), Memory: st.mem,
	}
	targets := []*target{st.gateway, st.direct}
	if st.mem != nil {
		targets = targets[:1] // the backend's numbers say nothing about the cache
		st.mem.HeapBefore = heapInuse()
	}
	if st.interleave {
		fmt.Fprintf(logw, "attacking %s and %s in turn for %s each...\n", st.gateway.example(), st.direct.example(), cfg.duration)
		both := interleaved(ctx, cfg, targets, proxyRounds)
		rep.Gateway, rep.Direct = both[0], both[1]
	}
	for _, t := range targets {
		if ctx.Err() != nil || st.interleave {
			break
		}
		fmt.Fprintf(logw, "attacking %s (%s) for %s...\n", t.name, t.example(), cfg.duration)
		s := attack(ctx, cfg, t)
		if t == st.gateway {
			rep.Gateway = s
		} else {
			rep.Direct = s
		}
	}
	if st.mem != nil && rep.Gateway != nil {
		st.mem.finish(rep.Gateway.Requests)
	}
	rep.RSSAfter, rep.RSSPeak = rss("VmRSS"), rss("VmHWM")
	rep.Ratios = ratiosOf(rep.Gateway, rep.Direct)
	if cfg.json {
		return rep.writeJSON(out)
	}
	rep.writeText(out)
	return ctx.Err()
}

// start starts the stack of cfg's mode.
func start(cfg config) (*stack, error) {
	switch {
	case cfg.distinct:
		return startDistinct(cfg)
	case cfg.demo:
		return startDemo(cfg.latency, cfg.same, cfg.audit)
	case cfg.proxy:
		return startProxy(cfg)
	default:
		return startFanOut(cfg.latency, cfg.same, cfg.audit)
	}
}

// startProfile starts a CPU profile into file; stop ends and closes it.
func startProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
