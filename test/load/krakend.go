package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/manifoldgw/manifold/test/bench"
)

// krakendName is the KrakenD child's name in -lean mode's children, targets
// ("fanout/krakend", "proxy/krakend") and report.
const krakendName = "krakend"

// krakendLogLevel is the KrakenD child's log level (telemetry/logging),
// with its access log off: per request it logs nothing, as the lean
// Manifold child at warn does. It has no telemetry configured either
// (the lean child keeps its metrics and traces).
const krakendLogLevel = "WARNING"

// krakendTimeout matches the fan-out pipeline's `timeout: 3s`.
const krakendTimeout = "3s"

// krakendConfig is the KrakenD CE configuration (version 3) equivalent to
// the -lean children's fan-out and proxy pipelines on the same backends
// (urls: backend name to base URL), listening on 127.0.0.1:port. The
// fan-out endpoint merges the four answers, each under its backend's name
// (`group`), which is the answer of Manifold's fan-out; the proxy endpoint
// passes b1's answer through untouched (`no-op` encoding). There is no
// cached fan-out: KrakenD CE caches backend answers only as their
// Cache-Control allows (qos/http-cache), and the fixture's backends send
// none, so a cache hit cannot be had on the same backends.
func krakendConfig(port int, urls map[string]string) ([]byte, error) {
	type backend struct {
		Host       []string `json:"host"`
		URLPattern string   `json:"url_pattern"`
		Encoding   string   `json:"encoding"`
		Group      string   `json:"group,omitempty"`
	}
	type endpoint struct {
		Endpoint       string    `json:"endpoint"`
		Method         string    `json:"method"`
		OutputEncoding string    `json:"output_encoding"`
		QueryStrings   []string  `json:"input_query_strings"`
		Timeout        string    `json:"timeout"`
		Backend        []backend `json:"backend"`
	}
	var fanOut []backend
	for _, name := range bench.Backends() {
		u, ok := urls[name]
		if !ok {
			return nil, fmt.Errorf("krakend config: no URL for backend %q", name)
		}
		fanOut = append(fanOut, backend{Host: []string{u}, URLPattern: bench.BackendPath, Encoding: "json", Group: name})
	}
	cfg := map[string]any{
		"version": 3, "name": "manifold load -lean", "port": port, "listen_ip": "127.0.0.1", "timeout": krakendTimeout,
		"extra_config": map[string]any{
			"telemetry/logging": map[string]any{"level": krakendLogLevel, "stdout": true, "prefix": "[KRAKEND]"},
			"router":            map[string]any{"disable_access_log": true},
		},
		"endpoints": []endpoint{
			{Endpoint: bench.Path, Method: http.MethodGet, OutputEncoding: "json", QueryStrings: []string{"id"},
				Timeout: krakendTimeout, Backend: fanOut},
			{Endpoint: "/v1/proxy", Method: http.MethodGet, OutputEncoding: "no-op", QueryStrings: []string{"id"},
				Timeout: krakendTimeout, Backend: []backend{{Host: []string{urls["b1"]}, URLPattern: bench.BackendPath, Encoding: "no-op"}}},
		},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// startKrakend starts the KrakenD binary bin (`bin run -c root/krakend.json`)
// on a free loopback port in front of urls, its stdout and stderr in
// root/krakend.log, and waits until its health endpoint answers.
func startKrakend(ctx context.Context, bin, root string, urls map[string]string) (*child, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	data, err := krakendConfig(port, urls)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(root, "krakend.json")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(root, krakendName+".log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "run", "-c", file)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("-krakend: %w", err)
	}
	c := &child{name: krakendName, cmd: cmd, base: "http://127.0.0.1:" + strconv.Itoa(port), log: logFile.Name()}
	if err := c.awaitHealth(ctx, time.Minute); err != nil {
		_ = c.stop()
		tail, _ := os.ReadFile(c.log)
		return nil, fmt.Errorf("krakend %s did not start: %w\n%s", bin, err, lastLines(tail, 5))
	}
	return c, nil
}

// freePort is a loopback port nothing listens on (KrakenD takes a port
// number, not a listener; another process could take it meanwhile, which
// startKrakend then reports).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// awaitHealth polls KrakenD's /__health until it answers 200, the process
// exits, ctx ends or wait passes.
func (c *child) awaitHealth(ctx context.Context, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/__health", nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if c.exited() {
			return errors.New("it exited")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no healthy answer on %s/__health: %w", c.base, ctx.Err())
		case <-tick.C:
		}
	}
}

// exited reports whether the child's process has ended (it is a zombie
// until stop waits for it).
func (c *child) exited() bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

// sameAnswer fails unless KrakenD's fan-out answers what the lean
// Manifold child's does (the same JSON value), so that the two are
// measured doing the same work.
func sameAnswer(ctx context.Context, manifold, krakend string) error {
	get := func(url string) (any, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return nil, err
		}
		var v any
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w: %s", url, err, body)
		}
		return v, nil
	}
	m, err := get(manifold)
	if err != nil {
		return err
	}
	k, err := get(krakend)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(m, k) {
		return fmt.Errorf("krakend's fan-out answers %v, Manifold's %v; the comparison would not be fair", k, m)
	}
	return nil
}

// addKrakendRatios adds to rep Manifold's defaults and lean children
// against KrakenD: req/s (rate, by target) and gateway CPU per request of
// the fan-out and the proxy, and peak RSS.
func addKrakendRatios(rep *leanReport, rate map[string]float64) {
	for _, k := range []string{"fanout", "proxy"} {
		for _, m := range []string{"defaults", "lean"} {
			rep.Ratios[k+" "+m+"/krakend req/s"] = ratio(rate[k+"/"+m], rate[k+"/"+krakendName])
			rep.Ratios[k+" "+m+"/krakend gateway CPU/req"] = ratio(rep.GwCPU[k+"/"+m], rep.GwCPU[k+"/"+krakendName])
		}
	}
	for _, m := range []string{"defaults", "lean"} {
		rep.Ratios["peak RSS "+m+"/krakend"] = ratio(float64(rep.PeakRSS[m]), float64(rep.PeakRSS[krakendName]))
	}
}

// writeKrakend writes the Manifold/KrakenD lines of the text report.
func (r *leanReport) writeKrakend(w io.Writer) {
	fmt.Fprintf(w, "\nKrakenD CE (log level %s, no access log, no metrics or traces; no cached fan-out: KrakenD CE caches only what backends' Cache-Control allows), peak RSS %s\n",
		krakendLogLevel, mib(r.PeakRSS[krakendName]))
	for _, k := range []string{"fanout", "proxy"} {
		fmt.Fprintf(w, "%-6s: Manifold/KrakenD req/s: defaults %.2fx, lean %.2fx; gateway CPU per request: defaults %.2fx, lean %.2fx (KrakenD %.0f µs)\n",
			k, r.Ratios[k+" defaults/krakend req/s"], r.Ratios[k+" lean/krakend req/s"],
			r.Ratios[k+" defaults/krakend gateway CPU/req"], r.Ratios[k+" lean/krakend gateway CPU/req"], r.GwCPU[k+"/"+krakendName])
	}
	fmt.Fprintf(w, "peak RSS Manifold/KrakenD: defaults %.2fx, lean %.2fx\n", r.Ratios["peak RSS defaults/krakend"], r.Ratios["peak RSS lean/krakend"])
}
