package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing/fstest"
	"time"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
)

// The -distinct mode: one cached pipeline (`cache: 1m`) with one cached
// step (`cache: 1m`) against a backend that answers about 2 KB of JSON,
// attacked with a new query value on every request. No answer is ever
// asked for twice, so without a bound the two caches would keep every
// answer for a minute; with gateway.yaml `cache.max_size` the Go heap has
// to stay near that bound however many keys were sent.
const (
	distinctPipeline = "distinct"
	distinctPath     = "/v1/distinct"
	distinctBackend  = "/doc"
	// distinctAnswerSize is about what the backend answers, in bytes.
	distinctAnswerSize = 2048
)

// distinctDir is the mode's pipeline directory against backend, with
// cache.max_size set to maxSize (a size as gateway.yaml takes it).
func distinctDir(backend, maxSize string) fstest.MapFS {
	gatewayYAML := `# Load harness, -distinct mode: one upstream on loopback, a bounded cache.
server: {listen: "127.0.0.1:0", max_body: 1MiB}
upstreams:
  doc: {url: "` + backend + `", timeout: 2s, retries: 0, concurrency: 1024}
defaults: {access: public}
audit: {nats: "off"}
cache: {max_size: "` + maxSize + `"}
`
	pipe := `name: ` + distinctPipeline + `
summary: One cached document per distinct key
description: Every q is a new key for both the response cache and the step cache.
method: GET
path: ` + distinctPath + `
params:
  q: {in: query, type: string, description: The key (new on every request)}
cache: 1m
timeout: 3s
steps:
  doc: {upstream: doc, path: ` + distinctBackend + `, query: {q: "${ .params.q }"}, cache: 1m}
`
	return fstest.MapFS{
		gateway.File:    {Data: []byte(gatewayYAML)},
		"distinct.yaml": {Data: []byte(pipe)},
	}
}

// distinctHandler answers GET /doc?q=K with a JSON document of about
// distinctAnswerSize bytes that holds K, after latency.
func distinctHandler(latency time.Duration) http.Handler {
	var pad strings.Builder
	for i := 0; pad.Len() < distinctAnswerSize-64; i++ {
		if i > 0 {
			pad.WriteByte(',')
		}
		fmt.Fprintf(&pad, `{"id":%d,"name":"item %04d"}`, i, i)
	}
	tail := []byte(`,"items":[` + pad.String() + `]}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != distinctBackend || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		if !wait(r, latency) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		q, _ := json.Marshal(r.URL.Query().Get("q"))
		body := make([]byte, 0, len(q)+len(tail)+8)
		body = append(append(append(body, `{"q":`...), q...), tail...)
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		_, _ = w.Write(body)
	})
}

// wait waits latency unless the request ends first; it reports whether the
// request is still wanted.
func wait(r *http.Request, latency time.Duration) bool {
	if latency <= 0 {
		return true
	}
	t := time.NewTimer(latency)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// startDistinct starts the backend and the gateway of the -distinct mode.
func startDistinct(cfg config) (_ *stack, err error) {
	st := &stack{mode: "distinct", pipeline: distinctPipeline}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	backend, err := st.listen(distinctHandler(cfg.latency))
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	plan, err := pipeline.Load(distinctDir(backend, cfg.cacheSize), "distinct", pipeline.LoadOptions{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		return nil, fmt.Errorf("-cache-size %q: %w", cfg.cacheSize, err)
	}
	st.mem = &memory{MaxSize: int64(plan.Gateway.Cache.MaxSize)}
	gw, err := st.startGateway(plan)
	if err != nil {
		return nil, err
	}
	key := func(n uint64) string { return "k" + strconv.FormatUint(n, 10) }
	st.gateway = &target{"gateway", func(n uint64) string { return gw + distinctPath + "?q=" + key(n) }}
	st.direct = &target{"direct", func(n uint64) string { return backend + distinctBackend + "?q=" + key(n) }}
	return st, nil
}

// memory is the -distinct mode's part of the report: what was sent, what
// keeping it all would take, and what the Go heap held.
type memory struct {
	MaxSize     int64  `json:"cache_max_size_bytes"`
	Keys        uint64 `json:"distinct_keys"`
	AnswerBytes int64  `json:"answer_bytes"`      // one gateway answer
	StepBytes   int64  `json:"step_answer_bytes"` // one backend answer (the step cache's entry)
	// AllKept is Keys × AnswerBytes: the response cache's values if none
	// were evicted (the step cache would keep about as much again).
	AllKept    int64   `json:"all_kept_bytes"`
	HeapBefore uint64  `json:"heap_inuse_before_bytes"` // after a GC, before the attack
	HeapAfter  uint64  `json:"heap_inuse_after_bytes"`  // after a GC, after the attack
	Growth     float64 `json:"heap_growth_over_max_size"`
}

// probeAnswers runs after the probe asked gateway and direct once each:
// it checks that asking the gateway again is a response-cache hit, so that
// a run never measures a pipeline that does not cache, and records the
// sizes of one gateway and one backend answer.
func (m *memory) probeAnswers(gateway, direct string) error {
	hit, err := fetch(gateway, &m.AnswerBytes)
	if err != nil {
		return err
	}
	if hit != "hit" {
		return fmt.Errorf("probing the cache: the same request again answered Manifold-Cache %q, want hit", hit)
	}
	_, err = fetch(direct, &m.StepBytes)
	return err
}

// fetch GETs url, stores the body's length in size and returns the
// Manifold-Cache header.
func fetch(url string, size *int64) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if *size, err = io.Copy(io.Discard, resp.Body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("probing %s: status %d", url, resp.StatusCode)
	}
	return resp.Header.Get("Manifold-Cache"), nil
}

// finish fills in what the attack sent and the heap after it.
func (m *memory) finish(keys uint64) {
	m.Keys = keys
	m.AllKept = int64(keys) * m.AnswerBytes
	m.HeapAfter = heapInuse()
	if m.MaxSize > 0 {
		m.Growth = (float64(m.HeapAfter) - float64(m.HeapBefore)) / float64(m.MaxSize)
	}
}

// heapInuse is runtime.MemStats.HeapInuse after two garbage collections
// (the second empties the sync.Pool victim caches the first left).
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func (m *memory) writeText(w io.Writer) {
	fmt.Fprintf(w, "distinct keys sent: %d; one answer %d B (backend's %d B); all kept: %s = %.1fx cache.max_size %s (the step cache would add about as much)\n",
		m.Keys, m.AnswerBytes, m.StepBytes, mibBytes(m.AllKept), float64(m.AllKept)/float64(max(m.MaxSize, 1)), mibBytes(m.MaxSize))
	fmt.Fprintf(w, "Go heap in use after GC: before %s, after %s; growth %+.1f MiB = %.2fx cache.max_size\n",
		mibBytes(int64(m.HeapBefore)), mibBytes(int64(m.HeapAfter)),
		(float64(m.HeapAfter)-float64(m.HeapBefore))/(1<<20), m.Growth)
}

func mibBytes(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
