package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/yamlconf"
	"github.com/manifoldgw/manifold/test/bench"
)

// leanRounds is how many turns each target gets in -lean mode.
const leanRounds = 4

// A gateway child of -lean mode: this binary serving a pipeline
// directory in its own process, so that its CPU and peak RSS are its own.
type child struct {
	name string
	cmd  *exec.Cmd
	base string // http://addr
	log  string // file holding its stderr (the access log)
}

// leanGatewayYAML is the gateway.yaml of both children; lean adds
// `audit: {nats: "off"}` and runs at log level warn. The defaults child
// keeps every default: embedded JetStream audit, metrics, access log at
// info.
const leanGatewayYAML = `server: {listen: "127.0.0.1:0", max_body: 1MiB}
upstreams:
{{UPSTREAMS}}defaults: {access: public}
`

// leanDir writes the pipeline directory of one child: the fixture's
// fan-out, a one-step proxy (proxy: true) to b1, and the fan-out again
// with a 30s response cache, which every request then hits.
// With auditMax, the defaults child's audit store is that many bytes at
// most.
func leanDir(root string, urls map[string]string, lean bool, auditMax string) (string, error) {
	name := "defaults"
	if lean {
		name = "lean"
	}
	dir := filepath.Join(root, name)
	fixture, err := bench.Dir(urls)
	if err != nil {
		return "", err
	}
	var ups strings.Builder
	for _, b := range bench.Backends() {
		fmt.Fprintf(&ups, "  %s: {url: %q, timeout: 2s, retries: 0, concurrency: 256}\n", b, urls[b])
	}
	gw := strings.Replace(leanGatewayYAML, "{{UPSTREAMS}}", ups.String(), 1)
	switch {
	case lean:
		gw += "audit: {nats: \"off\"}\n"
	case auditMax != "":
		gw += "audit: {max_bytes: " + auditMax + "}\n"
	}
	fanOut := string(fixture["fan-out.yaml"].Data)
	cached := strings.Replace(strings.Replace(fanOut, "name: "+bench.PipelineName, "name: cachedFanOut\ncache: 30s", 1),
		"path: "+bench.Path, "path: /v1/cached", 1)
	files := map[string]string{
		gateway.File:   gw,
		"fan-out.yaml": fanOut,
		"cached.yaml":  cached,
		"proxy.yaml": "name: proxyOne\npath: /v1/proxy\nproxy: true\nparams:\n  id: {type: string}\n" +
			"steps:\n  s: {upstream: b1, path: " + bench.BackendPath + ", query: {id: \"${ .params.id }\"}}\n",
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for f, data := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(data), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// startChild starts this binary serving dir, and waits for its address.
func startChild(name, dir, level, profile string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(filepath.Dir(dir), name+".log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir, childLevelEnv+"="+level)
	if profile != "" {
		cmd.Env = append(cmd.Env, childProfileEnv+"="+profile+"-"+name)
	}
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{name: name, cmd: cmd, log: logFile.Name()}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			addr <- sc.Text()
		}
		close(addr)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a, ok := <-addr:
		if ok {
			c.base = "http://" + a
			return c, nil
		}
	case <-time.After(time.Minute):
	}
	_ = c.stop()
	tail, _ := os.ReadFile(c.log)
	return nil, fmt.Errorf("gateway %s did not start: %s", name, lastLines(tail, 5))
}

// stop ends the child with SIGTERM (it drains and flushes) and waits.
func (c *child) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		return errors.New("gateway " + c.name + " did not stop within 30s")
	}
}

// cpu is the child's CPU time so far (user + system), from /proc.
func (c *child) cpu() time.Duration {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s) // from field 3 (state) on: utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// peakRSS is the child's peak resident set in KiB (VmHWM).
func (c *child) peakRSS() int64 {
	return procStatus("/proc/"+strconv.Itoa(c.cmd.Process.Pid)+"/status", "VmHWM")
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// bigStore reports whether size is a size of at least 32MiB: from there
// on, JetStream gives a stream the same 8 MiB blocks as the default 1GiB.
func bigStore(size string) bool {
	n, ok := yamlconf.ParseSize(size)
	return ok && n >= 32<<20
}

// streamMaxBytes reads the max_bytes the audit stream was created with
// from the stream's metadata in the JetStream store under dir, or -1.
func streamMaxBytes(dir string) int64 {
	metas, _ := filepath.Glob(filepath.Join(dir, "jetstream", "*", "streams", gateway.DefaultAuditStream, "meta.inf"))
	if len(metas) != 1 {
		return -1
	}
	data, err := os.ReadFile(metas[0])
	if err != nil {
		return -1
	}
	var meta struct {
		MaxBytes int64 `json:"max_bytes"`
	}
	if json.Unmarshal(data, &meta) != nil {
		return -1
	}
	return meta.MaxBytes
}
