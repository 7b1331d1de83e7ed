package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/launch"
	"github.com/manifoldgw/manifold/internal/launch/launchtest"
	"github.com/manifoldgw/manifold/internal/natstest"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// clusterBlock is how many requests go to one gateway before the other
// gets as many: long enough that the CPU clock's resolution and the
// cluster's 100 ms exchange land in the block that caused them.
const clusterBlock = 200

// BenchmarkClusterCPU is the process CPU of one request (a one-step
// pipeline behind a configured rate limit, the HTTP client included) on a
// single gateway and on a replica in cluster mode (a real nats-server, a
// `cluster:` section: the rate limits exchanged over NATS, the control
// plane, the status reporter, stateless MCP). Both run in this process at
// once, with audit off, beside a second single gateway (the control), and
// take turns in blocks of clusterBlock requests, so that all see the same
// machine. cluster/single is the ratio of their CPU per request;
// control/single, two identical gateways, shows how far from 1 noise
// alone takes a ratio.
func BenchmarkClusterCPU(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"text":"hello"}`)
	}))
	b.Cleanup(backend.Close)
	nats := natstest.Server(b)
	single := benchGateway(b, backend.URL, "nats: {url: \"off\"}\n")
	// control is a second single gateway: control/single is the noise
	// floor of the ratio on this machine.
	control := benchGateway(b, backend.URL, "nats: {url: \"off\"}\n")
	clustered := benchGateway(b, backend.URL, "nats: {url: \""+nats.URL()+"\"}\ncluster: {name: bench}\n")
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(base string) {
		resp, err := c.Get(base + "/v1/hello")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("RateLimit-Policy") == "" {
			b.Fatalf("GET %s/v1/hello: %s, RateLimit-Policy %q", base, resp.Status, resp.Header.Get("RateLimit-Policy"))
		}
	}
	get(single)
	get(clustered)
	if !strings.Contains(readyz(b, clustered), `"cluster":"bench"`) {
		b.Fatal("the cluster gateway's /readyz names no cluster bench")
	}
	var cpu [3]time.Duration
	n := 0
	bases := []string{single, clustered, control}
	for b.Loop() {
		// Take turns in a rotating order, so none always follows another.
		for j := range len(bases) {
			i := (j + n/clusterBlock) % len(bases)
			base := bases[i]
			start := cpuTime()
			for range clusterBlock {
				get(base)
			}
			cpu[i] += cpuTime() - start
		}
		n += clusterBlock
	}
	b.ReportMetric(float64(cpu[0])/float64(n), "single-cpu-ns/op")
	b.ReportMetric(float64(cpu[1])/float64(n), "cluster-cpu-ns/op")
	b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "cluster/single")
	b.ReportMetric(float64(cpu[2])/float64(cpu[0]), "control/single")
}

func readyz(b *testing.B, base string) string {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// benchGateway serves a hello pipeline on backend behind `server: {rate}`
// with extra appended to gateway.yaml, audit off, and returns its URL.
func benchGateway(b *testing.B, backend, extra string) string {
	b.Helper()
	fsys := fstest.MapFS{
		"gateway.yaml": {Data: []byte("upstreams:\n  backend: {url: \"" + backend + "\"}\nserver: {rate: 1000000/sec}\n" + extra)},
		"hello.yaml": {Data: []byte("name: hello\nmethod: GET\npath: /v1/hello\nsteps:\n  greet: {upstream: backend, path: /greet}\n" +
			"output: '{text: .greet.text}'\n")},
	}
	plan, err := pipeline.Load(fsys, b.TempDir(), pipeline.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	// gateway.yaml cannot turn audit off while `nats:` names a server for
	// the cluster; audit is the same cost with or without a cluster, so
	// both gateways go without.
	plan.Gateway.Audit.NATS = audit.Off
	base, _ := launchtest.Serve(b, plan, launch.Options{Logger: discard(), Replica: "bench-1"})
	return base
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
