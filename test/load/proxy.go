package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing/fstest"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/test/bench"
)

// proxyRounds is how many turns each target gets in -proxy mode.
const proxyRounds = 6

// startProxy starts one backend answering cfg.bodySize bytes of JSON and
// the gateway serving the same one-step pipeline as a pass-through
// (/v1/proxy) and decoding (/v1/decoding).
func startProxy(cfg config) (_ *stack, err error) {
	st := &stack{mode: "proxy", pipeline: "passThrough", interleave: true}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	backend, err := st.listen(bench.JSON(jsonOfSize(cfg.bodySize), cfg.latency))
	if err != nil {
		return nil, err
	}
	pipelineYAML := func(name, path string, proxy bool) []byte {
		return fmt.Appendf(nil, "name: %s\npath: %s\nproxy: %t\nparams:\n  id: {type: string}\nsteps:\n  s: {upstream: api, path: /data, query: {id: \"${ .params.id }\"}}\n",
			name, path, proxy)
	}
	fsys := fstest.MapFS{
		"gateway.yaml": {Data: fmt.Appendf(nil, `server: {listen: "127.0.0.1:0", max_response: 16MiB}
upstreams:
  api: {url: %q, timeout: 2s, retries: 0, concurrency: 256, max_response: 16MiB}
defaults: {access: public}
audit: {nats: "off"}
`, backend)},
		"proxy.yaml":    {Data: pipelineYAML("passThrough", "/v1/proxy", true)},
		"decoding.yaml": {Data: pipelineYAML("decoding", "/v1/decoding", false)},
	}
	plan, err := pipeline.Load(fsys, "", pipeline.LoadOptions{})
	if err != nil {
		return nil, err
	}
	gw, err := st.startGateway(plan)
	if err != nil {
		return nil, err
	}
	id := func(n uint64) string {
		if cfg.same {
			n = 0
		}
		return strconv.FormatUint(n, 10)
	}
	st.gateway = &target{"proxy", func(n uint64) string { return gw + "/v1/proxy?id=" + id(n) }}
	st.direct = &target{"decoding", func(n uint64) string { return gw + "/v1/decoding?id=" + id(n) }}
	return st, nil
}

// jsonOfSize is a JSON document of about n bytes: a list of small
// objects, the shape of a typical API answer.
func jsonOfSize(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < n-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item %d","price":%d.5,"ok":true}`, i, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}
